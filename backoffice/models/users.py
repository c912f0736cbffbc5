"""The user: one field list, with the table model and its Create/Update/Public variants."""

import re
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ConfigDict, EmailStr, StrictBool, field_validator
from sqlalchemy import Index
from sqlmodel import Field, Relationship, SQLModel

from backoffice.models.common import (
    NO_NUL,
    UTCDateTime,
    created_at_field,
    deleted_at_field,
    deleted_by_field,
    documented,
    reject_nul,
    updated_at_field,
    version_field,
)
from backoffice.models.permissions import UserGroupLink, UserPermissionLink

if TYPE_CHECKING:
    from backoffice.models.permissions import Group, Permission

PASSWORD_MIN_LENGTH = 8
# Bounds the work one login can cause (argon2 and bcrypt both read the whole input).
PASSWORD_MAX_LENGTH = 128
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9]+$")
USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 50
# What the API accepts, surrounding blanks (which are dropped) included.
USERNAME_INPUT_PATTERN = rf"^\s*[A-Za-z0-9]{{{USERNAME_MIN_LENGTH},}}\s*$"
# The longest address email-validator accepts (RFC 5321's path limit, less the brackets). The
# column keeps its 255 characters.
EMAIL_MAX_LENGTH = 254
# The audit log's names for who acted without an account (the operator at the command line,
# the system itself, an anonymous caller): no account may take one, or its entries would read
# as theirs.
RESERVED_USERNAMES = frozenset({"operator", "system", "anonymous"})


def _normalise_username(value: object) -> object:
    # Usernames are case-insensitive: "Alice" and "alice" are one account.
    if isinstance(value, str):
        if len(value) > USERNAME_MAX_LENGTH:  # before stripping, as the schema says
            raise ValueError(f"must be at most {USERNAME_MAX_LENGTH} characters long")
        value = value.strip()
        if value and not USERNAME_PATTERN.match(value):
            raise ValueError("may contain only letters (A-Z, a-z) and digits")
        return value.lower()
    return value


def _normalise_email(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=255, unique=True, index=True)
    username: str = Field(
        min_length=USERNAME_MIN_LENGTH,
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        index=True,
        schema_extra=documented(pattern=USERNAME_INPUT_PATTERN),
    )
    full_name: str | None = Field(default=None, max_length=100, schema_extra=documented(**NO_NUL))

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: object) -> object:
        return _normalise_username(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> object:
        return _normalise_email(value)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str | None) -> object:
        return reject_nul(value)


class User(UserBase, table=True):
    # The user list sorts by a field with the id breaking ties: an index on both answers a
    # page without sorting the table, even where many rows tie (every account that never
    # signed in has a null last_login). The list's search uses trigram indexes that exist on
    # PostgreSQL only (revision 0005).
    __table_args__ = (
        Index("ix_user_created_at", "created_at", "id"),
        Index("ix_user_last_login", "last_login", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=255)
    is_active: bool = Field(
        default=True,
        index=True,
        description="May sign in. Untick this instead of deleting the account.",
    )
    is_staff: bool = Field(default=False, description="May sign in to this admin site.")
    is_superuser: bool = Field(
        default=False,
        index=True,
        description="Holds every permission without being given them.",
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    last_login: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = version_field()
    deleted_at: datetime | None = deleted_at_field()
    deleted_by: str | None = deleted_by_field()
    # Never loaded implicitly (the services query memberships); the database deletes the links
    # with the user.
    groups: list["Group"] = Relationship(
        back_populates="users",
        link_model=UserGroupLink,
        sa_relationship_kwargs={"passive_deletes": True, "lazy": "raise_on_sql"},
    )
    user_permissions: list["Permission"] = Relationship(
        link_model=UserPermissionLink,
        sa_relationship_kwargs={"passive_deletes": True, "lazy": "raise_on_sql"},
    )

    def __str__(self) -> str:
        """How pages name an account (a relation's label): its username, as Django does;
        never SQLModel's text of the row, which holds the password hash."""
        return self.username

    @property
    def is_admin(self) -> bool:
        """May enter the admin (what it may do there, its permissions say)."""
        return self.is_active and (self.is_staff or self.is_superuser)


class UserCreate(UserBase):
    """Public registration: no say over the account's flags."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    email: EmailStr = Field(max_length=EMAIL_MAX_LENGTH)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class UserAdminCreate(UserCreate):
    """Creation by an admin or the CLI."""

    # Strict: JSON true or false, not 0, 1 or "yes" (the schema says boolean).
    is_active: StrictBool = True
    is_staff: StrictBool = False
    is_superuser: StrictBool = False


class UserUpdateMe(SQLModel):
    """What a user may change about themselves. Changing one's own email address takes the
    current password (``current_password``), which is never stored nor echoed."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    current_password: str | None = Field(
        default=None,
        max_length=PASSWORD_MAX_LENGTH,
        description="Your current password: needed to change your own email address.",
    )

    email: EmailStr | None = Field(default=None, max_length=EMAIL_MAX_LENGTH)
    username: str | None = Field(
        default=None,
        min_length=USERNAME_MIN_LENGTH,
        max_length=USERNAME_MAX_LENGTH,
        schema_extra=documented(pattern=USERNAME_INPUT_PATTERN),
    )
    full_name: str | None = Field(default=None, max_length=100, schema_extra=documented(**NO_NUL))

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: object) -> object:
        return _normalise_username(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> object:
        return _normalise_email(value)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str | None) -> object:
        return reject_nul(value)


class UserUpdate(UserUpdateMe):
    """What an admin may change about anyone."""

    is_active: StrictBool | None = None
    is_staff: StrictBool | None = None
    is_superuser: StrictBool | None = None


class UserPublic(UserBase):
    email: str  # validated on the way in, not again on the way out
    id: int
    is_active: bool
    is_staff: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None


class PasswordChange(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    current_password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
