"""Binding a browser session to the password it was opened with (as Django does)."""

import hashlib
import hmac


def credentials_fingerprint(hashed_password: str, secret_key: str) -> str:
    """Changes whenever the password changes, reveals nothing about it."""
    digest = hmac.new(
        secret_key.encode(), b"admin-session:" + hashed_password.encode(), hashlib.sha256
    )
    return digest.hexdigest()


def fingerprints_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected, given)
