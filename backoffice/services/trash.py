"""The trash: a delete that can be taken back.

A resource opts in (users and posts do; a host's model says ``__backoffice_trash__ = True``):
its table then has ``deleted_at`` and ``deleted_by`` columns, and its service's delete moves the
row to the trash instead of removing it. A row in the trash keeps its place, so its unique values
stay taken, and every door's reads leave it out (``Service.readable``). The resource's Trash
lists it with who deleted it and when; from there it is restored (audited as ``restore``) or
purged (audited as ``purge``, then deleted for good). ``backoffice purge-trash`` purges what has
been in the trash longer than ``BACKOFFICE_TRASH_DAYS``.

Who may delete rows of a resource may list, restore and purge its trash; the row rules of its
service (``visible``, ``permits("delete", row)``) apply as they do to a delete.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ColumnElement, String
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Conflict, NotFound, PermissionDenied
from backoffice.models import Page
from backoffice.models.common import UTCDateTime, utcnow
from backoffice.services.audit import AuditService, diff, snapshot
from backoffice.services.base import Caller, Service
from backoffice.services.deleting import delete_row
from backoffice.services.versions import claim

if TYPE_CHECKING:
    from backoffice.registry import Resource

DELETED_AT = "deleted_at"
DELETED_BY = "deleted_by"
OPT_IN = "__backoffice_trash__"
"""A model class attribute: True gives the table a trash (``add_trash_columns``)."""


def wants_trash(model: type[Any]) -> bool:
    return getattr(model, OPT_IN, False) is True


def has_trash(model: type[Any]) -> bool:
    """Are ``deleted_at`` and ``deleted_by`` mapped on ``model``?"""
    mapper = sa_inspect(model, raiseerr=False)
    return mapper is not None and DELETED_AT in mapper.columns and DELETED_BY in mapper.columns


def add_trash_columns(model: type[Any]) -> None:
    """Give an opted-in host table its trash columns (once), as users and posts declare them:
    registration calls this, and ``migration_env.tables_of`` too, so ``makemigrations`` writes
    them into the host's revision."""
    if has_trash(model) or not wants_trash(model):
        return
    mapper = sa_inspect(model)
    for name, type_ in ((DELETED_AT, UTCDateTime()), (DELETED_BY, String(60))):
        column = Column(name, type_, nullable=True)
        mapper.local_table.append_column(column)
        mapper.add_property(name, column)


def not_in_trash(model: type[Any] | None) -> list[ColumnElement[bool]]:
    """The condition every door's reads add for a table with a trash (none for others)."""
    if model is None or not has_trash(model):
        return []
    return [col(getattr(model, DELETED_AT)).is_(None)]


async def may_act(service: Any, resource: "Resource", action: str) -> bool:
    """May ``service``'s caller ``action`` the resource as a whole? Its ``has_permission``
    where it has one (the generic service, a host's subclass), else the ``{name}.{action}``
    permission, or active staff in person for a resource registered without permissions."""
    if callable(getattr(service, "has_permission", None)):
        return bool(await service.has_permission(action))
    if not resource.permissions:
        return bool(service.caller.is_admin and not service.caller.via_api_key)
    return bool(await service.may(resource.name, action))


def in_trash(obj: Any) -> bool:
    return getattr(obj, DELETED_AT, None) is not None


async def move_to_trash(
    session: AsyncSession,
    audit: AuditService,
    obj: Any,
    *,
    audit_type: str | None,
    label: str,
    version: int | None = None,
    also: dict[str, Any] | None = None,
) -> None:
    """The delete of a resource with a trash: the row stays, marked; the audit entry is a
    ``delete`` holding its fields (so it can be restored from the log too). With ``version``,
    only if nobody has saved since (``Stale``). ``also``: other fields set with it (a user
    in the trash is inactive, so no door signs it in)."""
    before = snapshot(obj)
    await claim(session, obj, version, label)
    # Through the mapper, not the model: a host table's trash columns are mapped, not fields.
    for name, value in (also or {}).items():
        set_attribute(obj, name, value)
    set_attribute(obj, DELETED_AT, utcnow())
    set_attribute(obj, DELETED_BY, audit.actor_label())
    session.add(obj)
    await session.flush()
    if audit_type:
        await audit.deleted(audit_type, obj, before)


@dataclass
class Purged:
    """What a purge by age did to one trash."""

    count: int = 0
    kept: list[str] = field(default_factory=list)
    """Why each row that could not be purged was kept."""


class TrashService(Service):
    """One resource's trash: list, restore, purge."""

    def __init__(self, session: AsyncSession, caller: Caller, resource: "Resource") -> None:
        super().__init__(session, caller)
        self.resource = resource
        self.model = resource.model
        self.rows = resource.service(session, caller)
        self.audit = AuditService(session, caller)
        if not has_trash(self.model):
            raise NotFound(f"{resource.label_plural} have no trash.")

    async def may_use(self) -> bool:
        """May the caller open this trash? Whoever may delete the resource's rows."""
        return await may_act(self.rows, self.resource, "delete")

    async def require(self) -> None:
        if not await self.may_use():
            raise PermissionDenied(
                f"You need the {self.resource.name}.delete permission to use the trash of "
                f"{self.resource.label_plural.lower()}."
            )

    async def list(self, *, skip: int = 0, limit: int = 50) -> Page[Any]:
        """The rows in the trash the caller may see, last deleted first."""
        await self.require()
        conditions = [self._trashed(), *await self.rows.visible()]
        return await self.fetch_page(
            self.model, conditions, (DELETED_AT, True), skip=skip, limit=limit
        )

    async def get(self, pk: Any) -> Any:
        """A row in the trash the caller may restore or purge (else ``NotFound`` or
        ``PermissionDenied``, as for a delete)."""
        await self.require()
        key = sa_inspect(self.model).primary_key[0]
        query = select(self.model).where(key == pk, self._trashed(), *await self.rows.visible())
        obj = (await self.session.exec(query)).first()
        if obj is None:
            raise NotFound(f"{self.resource.label} {pk} is not in the trash.")
        if not await self.rows.permits("delete", obj):
            raise PermissionDenied(f"You may not restore or purge this {self.resource.label}.")
        return obj

    async def restore(self, pk: Any) -> Any:
        """Take the row out of the trash, as it was (its service's ``before_restore`` may
        refuse or adjust: a user gets back the active flag it had)."""
        obj = await self.get(pk)
        before = snapshot(obj)
        hook = getattr(self.rows, "before_restore", None)
        if hook is not None:
            await hook(obj)
        await claim(self.session, obj, None, f"{self.resource.label} {pk}")
        set_attribute(obj, DELETED_AT, None)
        set_attribute(obj, DELETED_BY, None)
        self.session.add(obj)
        await self.session.flush()
        if self.resource.audit:
            await self.audit.record("restore", self.resource.name, obj, diff(before, snapshot(obj)))
        return obj

    async def purge(self, pk: Any) -> None:
        """Delete the row for good. Its audit entry keeps its fields (not its secrets)."""
        obj = await self.get(pk)
        await self._purge(obj, pk)

    async def purge_older_than(self, days: int) -> Purged:
        """Purge every row of this trash deleted more than ``days`` days ago. A row that cannot
        be purged (other rows refer to it) is kept and named; the others are purged all the
        same, each in a savepoint of its own."""
        await self.require()
        cutoff = utcnow() - timedelta(days=days)
        key = sa_inspect(self.model).primary_key[0]
        query = select(key).where(self._trashed(), col(getattr(self.model, DELETED_AT)) < cutoff)
        keys = list((await self.session.exec(query.order_by(key))).all())
        purged = Purged()
        for pk in keys:
            try:
                async with self.session.begin_nested():
                    obj = await self.session.get(self.model, pk)
                    if obj is not None:
                        await self._purge(obj, pk)
            except Conflict as exc:
                purged.kept.append(exc.detail)
            else:
                purged.count += 1
        return purged

    async def _purge(self, obj: Any, pk: Any) -> None:
        if self.resource.audit:
            await self.audit.record("purge", self.resource.name, obj, diff(snapshot(obj), {}))
        try:
            await delete_row(self.session, obj)
        except IntegrityError:
            raise Conflict(
                f"{self.resource.label} {pk} cannot be purged: other rows refer to it."
            ) from None

    def _trashed(self) -> ColumnElement[bool]:
        return col(getattr(self.model, DELETED_AT)).is_not(None)
