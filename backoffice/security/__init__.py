"""Password hashing and signed tokens; no database and no web framework here."""

from backoffice.security.passwords import HashParameters, PasswordHasher
from backoffice.security.tokens import (
    InvalidToken,
    IssuedToken,
    TokenClaims,
    create_token,
    decode_token,
)

__all__ = [
    "HashParameters",
    "InvalidToken",
    "IssuedToken",
    "PasswordHasher",
    "TokenClaims",
    "create_token",
    "decode_token",
]
