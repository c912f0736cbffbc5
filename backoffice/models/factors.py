"""Second factors (an authenticator app, recovery codes, passkeys) and the short-lived
challenges of a sign-in that is half done. Secrets are stored encrypted or hashed, never plain."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from backoffice.models.common import UTCDateTime, created_at_field


class TotpDevice(SQLModel, table=True):
    """A user's authenticator app (RFC 6238). It counts once ``confirmed_at`` is set, after the
    user has typed a first code from it."""

    __tablename__ = "totp_device"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", unique=True, index=True)
    encrypted_secret: str = Field(max_length=300)
    """The shared secret, encrypted with a key derived from the secret key (Fernet)."""
    created_at: datetime = created_at_field()
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_step: int | None = None
    """The time step of the last code accepted: a code is accepted once, so an older or equal
    step is refused (a replayed code)."""


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code, kept as a keyed hash."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Passkey(SQLModel, table=True):
    """A WebAuthn credential: a second factor, and a passwordless way into the admin."""

    __tablename__ = "passkey"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    credential_id: str = Field(max_length=400, unique=True)
    """The authenticator's credential id, base64url."""
    public_key: str = Field(max_length=2000)
    """The COSE public key, base64url: public, but never shown."""
    sign_count: int = 0
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInChallenge(SQLModel, table=True):
    """A sign-in waiting for its second step, or a WebAuthn ceremony waiting for its answer.
    Short-lived and single-use: the raw key is handed out once, only its hash is kept."""

    __tablename__ = "sign_in_challenge"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    purpose: str = Field(max_length=20)
    """``second-factor`` (password done), ``passkey-register`` or ``passkey-sign-in``."""
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    webauthn_challenge: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
