"""API keys: random, recognisable, and hashed with a fast keyed hash.

A key carries 256 random bits, so it cannot be guessed and needs no slow password hash: one
HMAC-SHA256 (microseconds) checks it, and every API request can afford that. The HMAC key is
derived from the secret key, so the stored hashes are useless without it too; rotating the
secret key ends every API key.
"""

import hashlib
import hmac
import secrets
from functools import lru_cache

KEY_PREFIX = "bok_"
"""Every key starts with this, so secret scanners and people reading a log can spot one."""
KEY_RANDOM_BYTES = 32
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8
"""How much of a key its listing shows (the prefix and 8 random characters: 48 bits)."""
KEY_MAX_LENGTH = 100
_DERIVATION = b"backoffice.api-key.v1"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def looks_like_api_key(token: str) -> bool:
    """Is this bearer credential an API key rather than a JWT? (A JWT starts with ``eyJ``.)"""
    return token.startswith(KEY_PREFIX)


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]


@lru_cache(maxsize=8)
def derive_hash_key(secret_key: str) -> bytes:
    """The HMAC key for API keys: the secret key is not used directly for a second purpose."""
    return hmac.new(secret_key.encode(), _DERIVATION, hashlib.sha256).digest()


def api_key_hash(key: str, hash_key: bytes) -> str:
    return hmac.new(hash_key, key.encode(), hashlib.sha256).hexdigest()


def hashes_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
