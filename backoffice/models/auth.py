"""What the database remembers about sign-ins, so every worker agrees: refresh tokens, revoked
access tokens, admin sessions and login throttling."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from backoffice.models.common import UTCDateTime, created_at_field


class RefreshToken(SQLModel, table=True):
    """One refresh token. Tokens rotated from one login share a ``family_id``; presenting a used
    one again revokes the family (someone else has a copy)."""

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    """SHA-256 of the token: a database leak does not leak usable tokens."""
    family_id: str = Field(max_length=32, index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    issued_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    address: str | None = Field(default=None, max_length=64)
    """The client address of the sign-in that started the family (shown to its owner)."""
    user_agent: str | None = Field(default=None, max_length=200)


class RevokedAccessToken(SQLModel, table=True):
    """An access token signed out before it expired; kept until then."""

    __tablename__ = "revoked_access_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class AdminSession(SQLModel, table=True):
    """A signed-in admin browser. The cookie holds only a random key; this row holds the rest."""

    __tablename__ = "admin_session"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    address: str | None = Field(default=None, max_length=64)
    """Where the sign-in came from, shown to the session's owner on their Security page."""
    user_agent: str | None = Field(default=None, max_length=200)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins counted per account and per client address; also the quotas of
    registrations and reset requests per address and of reset mails per recipient (see
    ``services/throttle.py``)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    """``account:<hmac of the account id or login>``, ``address:<client address>``, or a
    quota's ``<kind>:<client address or hmac of the email>``."""
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
