"""JWTs: what create_token writes and what decode_token insists on."""

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from backoffice.security import InvalidToken, create_token, decode_token

KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FP = "0123456789abcdef0123456789abcdef"


def payload(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "7",
        "type": "access",
        "jti": "abc123",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "pwd": FP,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_created_token_decodes_to_its_claims() -> None:
    issued = create_token(
        "7", token_type="access", secret_key=KEY, lifetime=timedelta(minutes=30), fingerprint=FP
    )

    claims = decode_token(issued.token, token_type="access", secret_key=KEY)

    assert claims == issued.claims
    assert (claims.subject, claims.token_type) == ("7", "access")
    assert claims.expires_at - claims.issued_at == timedelta(minutes=30)
    assert issued.expires_in == 1800
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_every_token_has_its_own_id() -> None:
    tokens = [
        create_token(
            "7", token_type="access", secret_key=KEY, lifetime=timedelta(minutes=1), fingerprint=FP
        )
        for _ in range(3)
    ]
    assert len({token.claims.jti for token in tokens}) == 3


def test_a_token_of_another_type_is_refused() -> None:
    issued = create_token(
        "7", token_type="reset", secret_key=KEY, lifetime=timedelta(minutes=1), fingerprint=FP
    )
    with pytest.raises(InvalidToken):
        decode_token(issued.token, token_type="access", secret_key=KEY)


def test_an_expired_token_is_refused() -> None:
    issued = create_token(
        "7", token_type="access", secret_key=KEY, lifetime=timedelta(seconds=-1), fingerprint=FP
    )
    with pytest.raises(InvalidToken):
        decode_token(issued.token, token_type="access", secret_key=KEY)


def test_a_token_signed_with_another_key_is_refused() -> None:
    issued = create_token(
        "7",
        token_type="access",
        secret_key=KEY + "-other",
        lifetime=timedelta(minutes=1),
        fingerprint=FP,
    )
    with pytest.raises(InvalidToken):
        decode_token(issued.token, token_type="access", secret_key=KEY)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "type"])
def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    token = jwt.encode(payload(**{missing: None}), KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        decode_token(token, token_type="access", secret_key=KEY)


def test_an_unsigned_alg_none_token_is_refused() -> None:
    unsigned = jwt.encode(payload(), None, algorithm="none")
    handmade = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({**payload(), 'iat': 1, 'exp': 2**40})}."
    for token in (unsigned, handmade):
        with pytest.raises(InvalidToken):
            decode_token(token, token_type="access", secret_key=KEY)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_with_another_hmac_algorithm_is_refused(algorithm: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = jwt.encode(payload(), KEY, algorithm=algorithm)
    with pytest.raises(InvalidToken):
        decode_token(token, token_type="access", secret_key=KEY)


@pytest.mark.parametrize("claim", ["sub", "jti"])
def test_a_non_string_subject_or_id_is_refused(claim: str) -> None:
    token = jwt.encode(payload(**{claim: 7}), KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        decode_token(token, token_type="access", secret_key=KEY)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....."])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        decode_token(garbage, token_type="access", secret_key=KEY)


def test_a_tampered_payload_is_refused() -> None:
    issued = create_token(
        "7", token_type="access", secret_key=KEY, lifetime=timedelta(minutes=1), fingerprint=FP
    )
    header, _, signature = issued.token.split(".")
    forged = f"{header}.{b64({**payload(sub='1'), 'iat': 1, 'exp': 2**40})}.{signature}"
    with pytest.raises(InvalidToken):
        decode_token(forged, token_type="access", secret_key=KEY)
