"""The audit trail: every create, change and delete, whoever made it and through whichever door.

Services record an entry in the same unit of work as the change itself, so a change and its
entry land together or not at all. Secret fields are recorded as changed, never with a value.
"""

import builtins
import re
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel, col, select

from backoffice.errors import PermissionDenied
from backoffice.models import AuditEntry, Page
from backoffice.services.base import Service, parse_sort
from backoffice.services.versions import VERSION, version_of

SECRET = re.compile(r"(password|passwd|secret|token|api_?key|private_?key|hash)", re.I)
SECRET_CHANGED = "(changed)"  # noqa: S105 (a marker, not a secret)
AUDIT_SORT_FIELDS = frozenset({"id", "at"})
BOOKKEEPING = frozenset({"updated_at", VERSION, "deleted_at", "deleted_by"})
"""Columns a change is not about: the version goes in the entry's own column, and moving a row
to the trash is the entry's action."""


def snapshot(obj: Any) -> dict[str, Any]:
    """The row's column values, JSON-safe; secret columns as a marker, never their value."""
    state = sa_inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        value = getattr(obj, attr.key)
        values[attr.key] = SECRET_CHANGED if SECRET.search(attr.key) else _json_safe(value)
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Field → [before, after] for what changed; a secret field → "(changed)"."""
    changes: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        if key in BOOKKEEPING:
            continue
        old, new = before.get(key), after.get(key)
        if SECRET.search(key):
            continue  # secrets are compared by the caller, who knows whether they changed
        if old != new:
            changes[key] = [old, new]
    return changes


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


class AuditService(Service):
    async def record(
        self,
        action: str,
        object_type: str,
        obj: Any,
        changes: dict[str, Any],
    ) -> AuditEntry:
        identity = sa_inspect(obj).identity
        user = self.caller.user
        entry = AuditEntry(
            actor_id=None if user is None else user.id,
            actor=self.actor_label(),
            door=self.caller.door,
            action=action,
            object_type=object_type,
            object_id=str(identity[0]) if identity else "",
            object_repr=_label(obj),
            changes=changes,
            object_version=version_of(obj),
            unit=self.caller.unit,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    def actor_label(self) -> str:
        """The caller as the log names them: a username, or operator/system/anonymous."""
        user = self.caller.user
        return user.username if user is not None else self._anonymous_label()

    async def created(self, object_type: str, obj: Any) -> None:
        await self.record("create", object_type, obj, diff({}, snapshot(obj)))

    async def updated(
        self, object_type: str, obj: Any, before: dict[str, Any], *, secrets: tuple[str, ...] = ()
    ) -> None:
        changes = diff(before, snapshot(obj))
        changes.update({name: SECRET_CHANGED for name in secrets})
        if changes:
            await self.record("update", object_type, obj, changes)

    async def deleted(self, object_type: str, obj: Any, before: dict[str, Any]) -> None:
        await self.record("delete", object_type, obj, diff(before, {}))

    async def list(
        self,
        *,
        skip: int = 0,
        limit: int = 50,
        sort: str | None = None,
        actor_id: int | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        door: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[AuditEntry]:
        if not await self.may("audit", "view"):
            raise PermissionDenied("You need the audit.view permission to read the audit log.")
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (AuditEntry.actor_id, actor_id),
            (AuditEntry.object_type, object_type),
            (AuditEntry.object_id, object_id),
            (AuditEntry.door, door),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if since is not None:
            conditions.append(col(AuditEntry.at) >= since)
        if until is not None:
            conditions.append(col(AuditEntry.at) < until)
        order = parse_sort(sort, AUDIT_SORT_FIELDS, "-id")
        return await self.fetch_page(AuditEntry, conditions, order, skip=skip, limit=limit)

    async def changes_since(
        self, object_type: str, object_id: str, version: int, *, limit: int = 20
    ) -> builtins.list[AuditEntry]:
        """The changes that moved a record past ``version``, oldest first: what a stale save
        would have overwritten, and who made them when. For the door that was just refused a
        save of this record (so its caller may change it): no ``audit.view`` needed, only
        this record's entries are read."""
        query = (
            select(AuditEntry)
            .where(
                col(AuditEntry.object_type) == object_type,
                col(AuditEntry.object_id) == object_id,
                col(AuditEntry.object_version) > version,
            )
            .order_by(col(AuditEntry.id))
            .limit(limit)
        )
        return builtins.list((await self.session.exec(query)).all())

    async def unit_sizes(self, units: builtins.list[str]) -> dict[str, int]:
        """How many entries each of ``units`` wrote (for "Revert everything this request
        did", offered where a unit wrote more than one). Needs ``audit.view``."""
        if not units or not await self.may("audit", "view"):
            return {}
        query = (
            select(col(AuditEntry.unit), func.count())
            .where(col(AuditEntry.unit).in_(set(units)))
            .group_by(col(AuditEntry.unit))
        )
        return {unit: int(n) for unit, n in (await self.session.exec(query)).all() if unit}

    def _anonymous_label(self) -> str:
        if self.caller.trusted:
            return "operator" if self.caller.door == "cli" else "system"
        return "anonymous"


def describe(obj: Any) -> str:
    """How a list names a row it cannot show whole (the trash): its label, else its key."""
    identity = sa_inspect(obj).identity
    return _label(obj) or (f"#{identity[0]}" if identity else "")


def _label(obj: Any) -> str:
    """A readable name for the object: a name-like field, else the model's own ``__str__``
    (never pydantic's, whose text lists every field)."""
    for attr in ("username", "name", "title", "number", "email"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value[:200]
    if _own_str(type(obj)):
        return str(obj)[:200]
    return ""


def _own_str(model: type[Any]) -> bool:
    """Does ``model`` (or a class of the host's between it and SQLModel) define ``__str__``?"""
    for klass in model.__mro__:
        if klass in (SQLModel, BaseModel, object):
            return False
        if "__str__" in vars(klass):
            return True
    return False
