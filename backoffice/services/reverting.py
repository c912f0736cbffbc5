"""Revert: undo one audit entry, or everything one unit of work did (an API request, an admin
form, a bulk action, a command), through the services like any other change.

What a revert does, by the entry's action:

- ``update``: sets the changed fields back to their recorded "before" values with the
  resource's own ``update`` (its rules apply: a paid invoice stays paid);
- ``create``: deletes the row with the resource's ``delete`` (to the trash, if it has one);
- ``delete`` and ``purge``: brings the row back: out of the trash if it is there, else
  re-created from the fields the entry holds (not possible when it held a secret, such as a
  password hash, which the log never records);
- ``restore``: deletes the row again.

A revert is refused, with the reason, when a later change (outside the unit being reverted)
touched the same fields of the same row, so it would silently undo someone else's work; a
superuser may force it. Every revert is itself audited, under the reverting caller's unit, so
reverting that unit undoes the revert. Nothing is reverted unless everything is.
"""

import builtins
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RevertRefused,
)
from backoffice.models import AuditEntry
from backoffice.services.audit import SECRET_CHANGED, AuditService, diff, snapshot
from backoffice.services.base import Caller, Service
from backoffice.services.trash import DELETED_AT, DELETED_BY, TrashService, in_trash, may_act
from backoffice.services.versions import VERSION, is_versioned

if TYPE_CHECKING:
    from backoffice.registry import Registry, Resource

MAX_UNIT_ENTRIES = 10_000
"""The most entries one revert of a unit undoes (a bulk action over more is reverted in
parts, by entry)."""
NAMED_REASONS = 5
"""How many refused entries a refusal names."""


class RevertService(Service):
    def __init__(self, session: AsyncSession, caller: Caller, registry: "Registry") -> None:
        super().__init__(session, caller)
        self.registry = registry
        self.audit = AuditService(session, caller)

    async def revert_entry(self, entry_id: int, *, force: bool = False) -> list[AuditEntry]:
        """Undo audit entry ``entry_id``; the entries the revert wrote."""
        await self._require()
        entry = await self.session.get(AuditEntry, entry_id)
        if entry is None:
            raise NotFound(f"Audit entry {entry_id} does not exist.")
        return await self._revert([entry], unit=None, force=force)

    async def revert_unit(self, unit: str, *, force: bool = False) -> list[AuditEntry]:
        """Undo every entry of one unit of work, newest first; the entries the revert wrote."""
        await self._require()
        query = (
            select(AuditEntry)
            .where(col(AuditEntry.unit) == unit)
            .order_by(col(AuditEntry.id).desc())
            .limit(MAX_UNIT_ENTRIES + 1)
        )
        entries = list((await self.session.exec(query)).all())
        if not entries:
            raise NotFound(f"No audit entry was written by unit {unit!r}.")
        if len(entries) > MAX_UNIT_ENTRIES:
            raise Conflict(
                f"That unit wrote more than {MAX_UNIT_ENTRIES:,} entries: revert them one by one."
            )
        return await self._revert(entries, unit=unit, force=force)

    # -- the work ------------------------------------------------------------------------------

    async def _require(self) -> None:
        if not await self.may("audit", "view"):
            raise PermissionDenied("You need the audit.view permission to revert changes.")

    async def _revert(
        self, entries: builtins.list[AuditEntry], *, unit: str | None, force: bool
    ) -> builtins.list[AuditEntry]:
        hard: list[str] = []
        later: list[str] = []
        for entry in entries:
            resource = self._resource(entry)
            reason = resource if isinstance(resource, str) else self._cannot(entry)
            if reason is not None:
                hard.append(f"{_name(entry)}: {reason}")
                continue
            conflict = await self._later_change(entry, unit)
            if conflict is not None:
                later.append(f"{_name(entry)}: {conflict}")
        if hard or (later and not force):
            reasons = [*hard, *later]
            shown = reasons[:NAMED_REASONS]
            if len(reasons) > NAMED_REASONS:
                shown.append(f"(and {len(reasons) - NAMED_REASONS} more)")
            raise RevertRefused(shown, forcible=not hard and self.caller.is_superuser)
        if later and not self.caller.is_superuser:
            raise PermissionDenied("Only a superuser may force a revert over later changes.")
        first_new = await self._last_entry_id()
        # Named before anything is written: a refused flush expires every row the session holds.
        planned = [(entry, _name(entry)) for entry in entries]
        for entry, name in planned:
            resource = self._resource(entry)
            assert not isinstance(resource, str)
            try:
                await self._undo(entry, resource)
            except (InvalidInput, Conflict, NotFound) as exc:
                raise Conflict(f"Nothing was reverted: {name}: {exc.detail}") from None
        query = (
            select(AuditEntry)
            .where(col(AuditEntry.id) > first_new, col(AuditEntry.unit) == self.caller.unit)
            .order_by(col(AuditEntry.id))
        )
        return list((await self.session.exec(query)).all())

    async def _undo(self, entry: AuditEntry, resource: "Resource") -> None:
        service = resource.service(self.session, self.caller)
        pk = _key(resource, entry.object_id)
        if entry.action == "update":
            values = {name: change[0] for name, change in _changes(entry).items()}
            data = _validated(resource.update_schema, values)
            await service.update(pk, data)
        elif entry.action in ("create", "restore"):
            await service.delete(pk)
        else:  # delete, purge
            await self._bring_back(entry, resource, pk)

    async def _bring_back(self, entry: AuditEntry, resource: "Resource", pk: Any) -> None:
        row = await self.session.get(resource.model, pk)
        if row is not None and in_trash(row):
            await TrashService(self.session, self.caller, resource).restore(pk)
            return
        if row is not None:
            raise Conflict(f"{resource.label} {pk} exists already.")
        service = resource.service(self.session, self.caller)
        if not await may_act(service, resource, "add"):
            raise PermissionDenied(f"You may not add {resource.label_plural.lower()}.")
        values = {name: change[0] for name, change in entry.changes.items()}
        missing = _missing(resource.model, values)
        if missing:
            raise Conflict(
                f"its {', '.join(missing)} is not in the audit log, so it cannot be re-created"
            )
        converted = _from_log(resource.model, values)
        check_references = getattr(service, "_check_references", None)
        if check_references is not None:  # a reference to a row now gone, or in the trash
            await check_references(converted)
        obj = resource.model(**converted)
        if is_versioned(resource.model):  # on from where it was: a copy read before is stale
            set_attribute(obj, VERSION, (entry.object_version or 0) + 1)
        self.session.add(obj)
        await service.flush_unique(getattr(service, "unique_fields", {}) or {})
        await self.session.refresh(obj)
        if resource.audit:
            await self.audit.record("restore", resource.name, obj, diff({}, snapshot(obj)))

    # -- what may not be reverted --------------------------------------------------------------

    def _resource(self, entry: AuditEntry) -> "Resource | str":
        if entry.object_type in self.registry:
            resource = self.registry.get(entry.object_type)
            if callable(getattr(resource.service_class, "update", None)):
                return resource
        if entry.object_type not in self.registry:
            return f"{entry.object_type} is not a resource registered here"
        return f"changes to {entry.object_type} cannot be reverted"

    def _cannot(self, entry: AuditEntry) -> str | None:
        if entry.action not in ("update", "create", "delete", "purge", "restore"):
            return f"a {entry.action} cannot be reverted"
        secrets = [name for name, change in entry.changes.items() if change == SECRET_CHANGED]
        if entry.action == "update" and not _changes(entry):
            return "it changed nothing that can be set back"
        if entry.action in ("delete", "purge") and secrets:
            # Out of the trash it comes back whole; from the log, its secrets are missing.
            return f"its {', '.join(secrets)} is not in the audit log (restore it from the trash)"
        return None

    async def _later_change(self, entry: AuditEntry, unit: str | None) -> str | None:
        """The first later change of the same row (outside ``unit``) that the revert would
        undo, as a reason; None if there is none."""
        conditions = [
            col(AuditEntry.object_type) == entry.object_type,
            col(AuditEntry.object_id) == entry.object_id,
            col(AuditEntry.id) > entry.id,
        ]
        if unit is not None:
            conditions.append(or_(col(AuditEntry.unit).is_(None), col(AuditEntry.unit) != unit))
        later = await self.session.exec(
            select(AuditEntry).where(*conditions).order_by(col(AuditEntry.id)).limit(500)
        )
        fields = set(_changes(entry))
        for other in later:
            when = f"{other.actor} at {_when(other.at)} (entry {other.id})"
            if entry.action == "update" and other.action == "update":
                touched = sorted(fields & set(other.changes))
                if touched:
                    return f"{', '.join(touched)} changed again by {when}"
                continue
            return f"it was {_past(other.action)} later by {when}"
        return None

    async def _last_entry_id(self) -> int:
        query = select(col(AuditEntry.id)).order_by(col(AuditEntry.id).desc()).limit(1)
        return (await self.session.exec(query)).first() or 0


def _changes(entry: AuditEntry) -> dict[str, list[Any]]:
    """The entry's field changes that can be set back: [before, after], no secret marker."""
    return {
        name: change
        for name, change in entry.changes.items()
        if isinstance(change, list) and len(change) == 2 and change[0] != SECRET_CHANGED
    }


def _name(entry: AuditEntry) -> str:
    label = f" “{entry.object_repr}”" if entry.object_repr else ""
    return f"entry {entry.id} ({entry.object_type} {entry.object_id}{label})"


def _when(at: datetime) -> str:
    """As the admin writes a time: "4 Dec 2026, 13:24 UTC"."""
    return f"{at.astimezone(UTC):%d %b %Y, %H:%M} UTC".lstrip("0")


def _past(action: str) -> str:
    return {
        "update": "changed",
        "delete": "deleted",
        "purge": "purged",
        "create": "created",
        "restore": "restored",
        "password": "given a new password",
    }.get(action, action)


def _key(resource: "Resource", object_id: str) -> Any:
    column = sa_inspect(resource.model).primary_key[0]
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return object_id
    try:
        return python_type(object_id)
    except (TypeError, ValueError):
        raise NotFound(f"{resource.label} {object_id} does not exist.") from None


def _validated(schema: Any, values: dict[str, Any]) -> Any:
    """The recorded values as the resource's update variant; a field it does not take (set by
    the system, not by people) cannot be set back."""
    unknown = sorted(set(values) - set(schema.model_fields))
    if unknown:
        raise Conflict(f"{', '.join(unknown)} cannot be set back by hand")
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise Conflict(f"the recorded values no longer pass validation ({problems})") from None


def _missing(model: type[Any], values: dict[str, Any]) -> list[str]:
    """Required columns the recorded values lack (a secret, which the log never holds)."""
    table = sa_inspect(model).local_table
    return [
        column.key
        for column in table.columns
        if column.key not in values
        and not column.nullable
        and not column.primary_key
        and column.default is None
        and column.server_default is None
    ]


def _from_log(model: type[Any], values: dict[str, Any]) -> dict[str, Any]:
    """Recorded (JSON) values back as the model's field types (dates, enums, numbers)."""
    fields = model.model_fields
    converted: dict[str, Any] = {}
    for name, raw in values.items():
        if name in (DELETED_AT, DELETED_BY):
            continue
        annotation = fields[name].annotation if name in fields else None
        if annotation is None:
            converted[name] = raw
            continue
        try:
            converted[name] = TypeAdapter(annotation).validate_python(raw)
        except ValidationError:
            raise Conflict(f"the recorded {name} {raw!r} is no longer a valid value") from None
    return converted
