"""API keys: long-lived credentials for machines, narrowed to scopes and stored as a hash."""

from datetime import datetime

from pydantic import field_validator
from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from backoffice.models.common import MAX_ID, UTCDateTime, created_at_field

API_KEY_NAME_MAX_LENGTH = 100
API_KEY_MAX_SCOPES = 200
SCOPE_MAX_LENGTH = 120


class ApiKey(SQLModel, table=True):
    """One key. The key itself is shown once, when it is created; only its keyed hash is kept,
    so a copy of the database holds no usable key."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    """The owner: the key acts as this account, narrowed to ``scopes``."""
    name: str = Field(max_length=API_KEY_NAME_MAX_LENGTH)
    prefix: str = Field(max_length=16)
    """The key's first characters, to recognise it in a list (not enough to use it)."""
    key_hash: str = Field(max_length=64, unique=True, index=True)
    """HMAC-SHA256 of the key under a key derived from the secret key (``security.api_keys``)."""
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    """Permission codes (``invoices.view``); the key holds these, as far as its owner does."""
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_address: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCreate(SQLModel):
    name: str = Field(min_length=1, max_length=API_KEY_NAME_MAX_LENGTH)
    scopes: list[str] = Field(min_length=1, max_length=API_KEY_MAX_SCOPES)
    """Permission codes, each one the owner holds."""
    expires_at: datetime
    """Required: a key without an end is a key nobody remembers to revoke."""
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    """The owner; default the caller. Only a superuser creates a key for someone else."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value or "\x00" in value:
            raise ValueError("must not be blank")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        cleaned = sorted({scope.strip() for scope in value})
        if any(not scope or len(scope) > SCOPE_MAX_LENGTH for scope in cleaned):
            raise ValueError(
                f"each scope is a permission code of 1 to {SCOPE_MAX_LENGTH} characters"
            )
        return cleaned


class ApiKeyPublic(SQLModel):
    """What anyone is shown of a key after its creation: never the key, never its hash."""

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_address: str | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str
    """The key itself: shown this once and never again."""
