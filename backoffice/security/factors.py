"""The cryptography of second factors, kept apart from their rules (services/factors.py):
TOTP codes (pyotp), the secret's encryption (cryptography's Fernet), recovery codes, QR codes."""

import base64
import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOTP_WINDOW = 1
"""Steps accepted either side of now: a clock off by up to 30 seconds still works."""
RECOVERY_CODE_COUNT = 10


def _derived_key(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived_key(secret_key, b"backoffice totp secret")))


def encrypt_secret(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, secret_key: str) -> str | None:
    """The TOTP secret, or None if it was encrypted under another secret key."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (within ±``TOTP_WINDOW``) whose code is ``code``, or None. The caller
    refuses a step it has already accepted: that is the replay protection."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k3v9-x2pq-7tmc`` (60 bits each): typed rarely, from paper."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def recovery_code_hash(code: str, secret_key: str) -> str:
    """Keyed, so a leaked table cannot be checked offline without the secret key too."""
    normalised = code.strip().lower().replace(" ", "").replace("-", "")
    key = _derived_key(secret_key, b"backoffice recovery code")
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(code.strip().replace("-", "").replace(" ", "")) == 12


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG document (drawn here: no image from elsewhere)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="QR code"
    )
    return buffer.getvalue().decode()
