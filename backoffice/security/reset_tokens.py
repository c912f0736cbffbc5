"""One-time password reset tokens (itsdangerous, timed and salted).

A token names the account and carries a fingerprint of its password hash; the service checks
that fingerprint against the current hash, so a token works once and dies with any password
change. The salt keeps it from being accepted anywhere another signed value is.
"""

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backoffice.security.tokens import InvalidToken

SALT = "backoffice.password-reset"


@dataclass(frozen=True)
class ResetClaims:
    user_id: int
    fingerprint: str


def create_reset_token(user_id: int, fingerprint: str, *, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps({"uid": user_id, "pwd": fingerprint})


def read_reset_token(token: str, *, secret_key: str, max_age_seconds: int) -> ResetClaims:
    """The claims of a genuine, unexpired token; ``InvalidToken`` otherwise."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age_seconds)
    except (SignatureExpired, BadSignature) as exc:
        raise InvalidToken(str(exc)) from exc
    user_id = data.get("uid") if isinstance(data, dict) else None
    fingerprint = data.get("pwd") if isinstance(data, dict) else None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        raise InvalidToken("malformed reset token")
    return ResetClaims(user_id, fingerprint)
