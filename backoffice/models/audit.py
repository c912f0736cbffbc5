"""The audit trail: who changed what, when, through which door."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from backoffice.models.common import created_at_field


class AuditEntryBase(SQLModel):
    at: datetime = created_at_field()
    actor_id: int | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL", index=True
    )
    actor: str = Field(max_length=60)
    """Who, as they were called then: a username, or "operator"/"system" for the CLI/system."""
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


class AuditEntryPublic(AuditEntryBase):
    id: int
