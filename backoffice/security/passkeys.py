"""WebAuthn ceremonies through py_webauthn: options for the browser, and checking its answer.
The relying party (its id and the expected origin) is ``BASE_URL``'s, never a request's."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


class PasskeyRefused(Exception):
    """The browser's answer does not check out (wrong origin, challenge, signature, …)."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str

    @classmethod
    def from_base_url(cls, base_url: str, name: str) -> "RelyingParty":
        parts = urlsplit(base_url)
        return cls(
            id=parts.hostname or "localhost", name=name, origin=f"{parts.scheme}://{parts.netloc}"
        )


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str
    public_key: str
    sign_count: int


def registration_options(
    rp: RelyingParty, *, user_id: int, user_name: str, existing: list[str]
) -> tuple[str, str]:
    """(options as JSON for the browser, the challenge base64url to keep server-side)."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user_name,
        user_id=str(user_id).encode(),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def verify_registration(rp: RelyingParty, credential: str, challenge: str) -> NewPasskey:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(str(exc)) from exc
    return NewPasskey(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
    )


def authentication_options(rp: RelyingParty, *, allowed: list[str]) -> tuple[str, str]:
    """Options for ``navigator.credentials.get``; ``allowed`` empty lets the browser offer any
    passkey of this site (passwordless sign-in)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allowed
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def assertion_credential_id(credential: str) -> str:
    """The credential id an assertion names (to find its stored public key)."""
    try:
        return bytes_to_base64url(parse_authentication_credential_json(credential).raw_id)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(str(exc)) from exc


def verify_assertion(
    rp: RelyingParty, credential: str, challenge: str, *, public_key: str, sign_count: int
) -> int:
    """The authenticator's new signature counter, if the assertion checks out."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(public_key),
            credential_current_sign_count=sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(str(exc)) from exc
    return int(verified.new_sign_count)


def as_json_text(value: Any) -> str:
    """A credential as the browser sent it: JSON text, whether it came as text or parsed."""
    return value if isinstance(value, str) else json.dumps(value)
