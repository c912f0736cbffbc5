"""JSON Web Tokens for the API (PyJWT, HS256)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
ACCESS = "access"
# "pwd" binds the token to the password it was issued under (see security.sessions).
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "pwd"]


class InvalidToken(Exception):
    """The token is malformed, expired, of the wrong type or badly signed."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    token_type: str
    jti: str
    issued_at: datetime
    expires_at: datetime
    fingerprint: str
    family: str | None = None
    """The sign-in (refresh-token family) the token was issued from: it ends with it."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    claims: TokenClaims


def create_token(
    subject: str,
    *,
    token_type: str,
    secret_key: str,
    lifetime: timedelta,
    fingerprint: str,
    family: str | None = None,
) -> IssuedToken:
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + lifetime
    jti = uuid.uuid4().hex
    payload: dict[str, Any] = {
        "sub": subject,
        "type": token_type,
        "jti": jti,
        "iat": now,
        "exp": expires,
        "pwd": fingerprint,
    }
    if family is not None:
        payload["fam"] = family
    token = jwt.encode(payload, secret_key, algorithm=ALGORITHM)
    claims = TokenClaims(subject, token_type, jti, now, expires, fingerprint, family)
    return IssuedToken(token, int(lifetime.total_seconds()), claims)


def decode_token(token: str, *, token_type: str, secret_key: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if payload.get("type") != token_type:
        raise InvalidToken(f"expected a token of type {token_type!r}")
    subject, jti, fingerprint = payload.get("sub"), payload.get("jti"), payload.get("pwd")
    family = payload.get("fam")
    if not all(isinstance(value, str) for value in (subject, jti, fingerprint)) or not (
        family is None or (isinstance(family, str) and len(family) <= 32)
    ):
        raise InvalidToken("malformed claims")
    return TokenClaims(
        subject=str(subject),
        token_type=token_type,
        jti=str(jti),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        fingerprint=str(fingerprint),
        family=family,
    )
