"""The audit trail: who changed what, when, through which door."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, select
from sqlalchemy.orm import column_property
from sqlmodel import Field, SQLModel, col

from backoffice.models.common import created_at_field
from backoffice.models.users import RESERVED_USERNAMES, User

SYSTEM_ACTORS = RESERVED_USERNAMES
"""The names the audit log gives the CLI operator, the system itself and a signed-out caller
(reserved, so no account is registered under one of them)."""


class AuditEntryBase(SQLModel):
    at: datetime = created_at_field()
    actor_id: int | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL", index=True
    )
    actor: str = Field(max_length=60)
    """Who, as they were called then: a username, or "operator"/"system"/"anonymous". Only
    ``actor_id`` identifies an account: names change and are reused."""
    door: str = Field(max_length=10, index=True)
    """api, admin, cli or system."""
    action: str = Field(max_length=10)
    """create, update, delete or password."""
    object_type: str = Field(max_length=60, index=True)
    object_id: str = Field(max_length=60, index=True)
    object_repr: str = Field(default="", max_length=200)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Field → [before, after]. A secret field is recorded as changed, never with a value."""


class AuditEntry(AuditEntryBase, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    object_version: int | None = None
    """The record's version once this change was made (``services.versions``); None for an
    unversioned table. A stale save lists the entries past the version it read."""
    unit: str | None = Field(default=None, max_length=32, index=True)
    """The unit of work that wrote it: one API request, admin form, bulk action or command.
    "Revert everything this request did" reverts the entries of one unit."""

    @property
    def actor_name(self) -> str | None:
        """The actor account's username now (None once the account is gone, or for the
        operator, the system or a signed-out caller)."""
        value = self.__dict__.get("actor_current")
        return value if isinstance(value, str) else None

    @property
    def who(self) -> str:
        """The actor as staff should read it: the account by id and its current name, so a
        rename or a re-registered name cannot be mistaken for someone else."""
        current = self.actor_name
        if self.actor_id is not None and current is not None:
            then = "" if current == self.actor else f", then {self.actor}"
            return f"{current} (#{self.actor_id}{then})"
        if self.actor in SYSTEM_ACTORS:
            return self.actor
        return f"{self.actor} (deleted account)"


# The actor's current username, read in the same query as the entry (no extra round trip, and
# it works with the export's streamed batches).
AuditEntry.__mapper__.add_property(  # type: ignore[attr-defined]
    "actor_current",
    column_property(
        select(col(User.username))
        .where(col(User.id) == col(AuditEntry.actor_id))
        .correlate_except(User)
        .scalar_subquery()
    ),
)


class AuditEntryPublic(AuditEntryBase):
    id: int
    unit: str | None = Field(
        default=None,
        description="The request, admin form, bulk action or command that wrote the entry: "
        "`POST /api/audit/units/{unit}/revert` reverts all of its entries.",
    )
    actor_name: str | None = Field(
        default=None,
        description="The actor account's current username (null once the account is gone, "
        "and for the operator, the system or a signed-out caller); `actor` is the name it "
        "had then.",
    )
