"""The generic service behind every registered resource: a host's own SQLModel tables get the
same reading, writing, validation and error rules as the built-in ones.

Subclass it to add rules (override a ``before_*`` hook, ``has_permission`` or a whole method);
every door (API, admin, CLI) then uses the subclass.
"""

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from backoffice.models import Page
from backoffice.models.permissions import Action
from backoffice.services.actions import ResourceAction, declared_actions, run
from backoffice.services.audit import AuditService, snapshot
from backoffice.services.base import Caller, Service, like_pattern, parse_sort
from backoffice.services.bounds import column_errors, value_error
from backoffice.services.deleting import delete_row
from backoffice.services.trash import has_trash, move_to_trash
from backoffice.services.versions import check_current, claim

if TYPE_CHECKING:
    from backoffice.registry import Resource


class ResourceService(Service):
    """CRUD with the rules a back-office needs, for any registered SQLModel table."""

    search_fields: ClassVar[Sequence[str]] = ()
    """Text columns that ``search`` looks in (case-insensitive substring)."""

    filter_fields: ClassVar[Sequence[str]] = ()
    """Columns that may be filtered on by exact value (``?status=paid`` in the API)."""

    sort_fields: ClassVar[Sequence[str]] = ("id",)
    """Columns a list may be sorted by; ``-field`` sorts descending."""

    default_sort: ClassVar[str] = "-id"

    unique_fields: ClassVar[dict[str, str]] = {}
    """Unique columns and the message a clash gets (a race the pre-check lost is still a 409)."""

    def __init__(self, session: AsyncSession, caller: Caller, resource: "Resource") -> None:
        super().__init__(session, caller)
        self.resource = resource
        self.model: type[SQLModel] = resource.model
        self.audit = AuditService(session, caller)

    # -- permissions -------------------------------------------------------------------------

    async def has_permission(self, action: Action, obj: Any = None) -> bool:
        """May the caller ``action`` this resource (this object)? Default: the caller holds
        the ``{name}.{action}`` permission (superusers hold all), or, for a resource registered
        with ``permissions=False``, is active staff. Override for per-object
        rules; ``obj`` is None for the resource as a whole."""
        if not self.resource.permissions:
            # No permission names it, so no API key's scope reaches it.
            return self.caller.is_admin and not self.caller.via_api_key
        return await self.may(self.resource.name, action)

    async def require(self, action: Action, obj: Any = None) -> None:
        if not await self.has_permission(action, obj):
            raise PermissionDenied(
                f"You may not {action} {self.resource.label_plural.lower()}."
                if obj is None
                else f"You may not {action} this {self.resource.label.lower()}."
            )

    # -- reading -----------------------------------------------------------------------------

    async def get(self, pk: int) -> Any:
        return await self._load(pk, "view")

    async def _load(self, pk: int, action: Action) -> Any:
        """The object, if the caller may ``action`` it: one they may not see is missing, one
        they see but may not ``action`` is forbidden."""
        await self.require(action)
        obj = await self._visible_row(pk)
        if obj is not None and await self.has_permission(action, obj):
            return obj
        if obj is None or action == "view" or not await self.has_permission("view", obj):
            raise NotFound(f"{self.resource.label} {pk} does not exist.")
        raise PermissionDenied(f"You may not {action} this {self.resource.label.lower()}.")

    async def _visible_row(self, pk: int) -> Any:
        """The row, if it meets ``visible()`` (a row the caller may not list is missing)."""
        conditions = await self.readable()
        if not conditions:
            return await self.session.get(self.model, pk)
        key = sa_inspect(self.model).primary_key[0]
        query = select(self.model).where(key == pk, *conditions)
        return (await self.session.exec(query)).first()

    async def list(
        self,
        *,
        skip: int = 0,
        limit: int = 50,
        search: str | None = None,
        sort: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Page[Any]:
        await self.require("view")
        order = parse_sort(sort, frozenset(self.sort_fields), self.default_sort)
        conditions = [*await self.readable(), *self._filter_conditions(filters or {})]
        if search and self.search_fields:
            pattern = like_pattern(search.strip().lower())
            conditions.append(
                or_(
                    *(
                        func.lower(cast(col(getattr(self.model, name)), String)).like(
                            pattern, escape="\\"
                        )
                        for name in self.search_fields
                    )
                )
            )
        return await self.fetch_page(self.model, conditions, order, skip=skip, limit=limit)

    def visible_conditions(self) -> builtins.list[ColumnElement[bool]]:
        """Conditions on the rows the caller may see (none by default): applied by ``visible``,
        so by every read of every door. Override ``visible`` instead for a rule that must
        await (ask the database)."""
        return []

    async def visible(self) -> builtins.list[ColumnElement[bool]]:
        return self.visible_conditions()

    async def permits(self, action: Action, obj: Any) -> bool:
        return await self.has_permission(action, obj)

    async def may_read(self) -> bool:
        return await self.has_permission("view")

    # -- writing -----------------------------------------------------------------------------

    async def create(self, data: BaseModel | dict[str, Any]) -> Any:
        await self.require("add")
        values = self._validated(self.resource.create_schema, data).model_dump()
        self._check_storable(values)
        await self._check_references(values)
        await self.before_create(values)
        obj = self.model.model_validate(values)
        self.session.add(obj)
        await self.flush_unique(self.unique_fields)
        await self.session.refresh(obj)
        if self.resource.audit:
            await self.audit.created(self.resource.name, obj)
        return obj

    async def update(
        self, pk: int, data: BaseModel | dict[str, Any], *, version: int | None = None
    ) -> Any:
        """Change row ``pk``. With ``version`` (the one the caller read), only if nobody has
        saved since: else ``Stale``, and nothing is written (``services.versions``)."""
        obj = await self._load(pk, "change")
        changes = self._validated(self.resource.update_schema, data).model_dump(exclude_unset=True)
        for name in [k for k, v in changes.items() if v is None]:
            if not self._nullable(name):
                del changes[name]  # null leaves a required field as it is
        self._check_storable(changes)
        # A reference kept as it is stays valid, seen or not (the admin's form sends it back).
        await self._check_references(
            {k: v for k, v in changes.items() if getattr(obj, k, None) != v}
        )
        await self.before_update(obj, changes)
        label = f"{self.resource.label} {pk}"
        if all(getattr(obj, key, None) == value for key, value in changes.items()):
            check_current(obj, version, label)
            return obj  # nothing to write: the version stays
        before = snapshot(obj)
        await claim(self.session, obj, version, label)
        for key, value in changes.items():
            setattr(obj, key, value)
        self.session.add(obj)
        await self.flush_unique(self.unique_fields)
        await self.session.refresh(obj)
        if self.resource.audit:
            await self.audit.updated(self.resource.name, obj, before)
        return obj

    async def delete(self, pk: int, *, version: int | None = None) -> None:
        """Delete row ``pk`` (to the trash, for a resource that has one); with ``version``, only
        if nobody has saved since (``Stale``)."""
        obj = await self._load(pk, "delete")
        await self.before_delete(obj)
        if has_trash(self.model):  # kept, marked, hidden from every door (services.trash)
            await move_to_trash(
                self.session,
                self.audit,
                obj,
                audit_type=self.resource.name if self.resource.audit else None,
                label=f"{self.resource.label} {pk}",
                version=version,
            )
            return
        if version is not None:
            await claim(self.session, obj, version, f"{self.resource.label} {pk}")
        if self.resource.audit:
            await self.audit.deleted(self.resource.name, obj, snapshot(obj))
        try:
            await delete_row(self.session, obj)
        except IntegrityError:
            raise Conflict(
                f"{self.resource.label} {pk} cannot be deleted: other rows refer to it."
            ) from None

    # -- custom actions (services.actions) -----------------------------------------------------

    @classmethod
    def actions(cls) -> dict[str, ResourceAction]:
        """The custom actions declared with ``@resource_action``, by name."""
        return declared_actions(cls)

    async def run_action(self, name: str, pk: int) -> Any:
        """Do the action ``name`` to row ``pk`` (``services.actions.run``): loaded with its
        permission and row rules, changed by its method, flushed, audited."""
        return await run(self, name, pk)

    async def allowed_actions(self, obj: Any) -> builtins.list[ResourceAction]:
        """The actions the caller may do to ``obj`` (the admin shows a button for each)."""
        return [a for a in self.actions().values() if await self.has_permission(a.permission, obj)]

    # -- hooks for subclasses ----------------------------------------------------------------

    async def before_create(self, values: dict[str, Any]) -> None:
        """Check or adjust validated values; raise a domain error to refuse."""

    async def before_update(self, obj: Any, changes: dict[str, Any]) -> None:
        """Check or adjust the changes about to be applied to ``obj``."""

    async def before_delete(self, obj: Any) -> None:
        """Raise a domain error to refuse the deletion of ``obj``."""

    async def before_restore(self, obj: Any) -> None:
        """Raise a domain error to refuse taking ``obj`` out of the trash (``services.trash``),
        or adjust it first."""

    # -- helpers -----------------------------------------------------------------------------

    def _validated(self, schema: type[BaseModel], data: BaseModel | dict[str, Any]) -> BaseModel:
        raw = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else data
        try:
            return schema.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(
                [
                    FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
                    for e in exc.errors()
                ]
            ) from None

    def _check_storable(self, values: dict[str, Any]) -> None:
        """Refuse what the columns cannot store (NUL, length, integer range) as invalid input,
        whether or not the schema says so, before it reaches the database."""
        errors = column_errors(self.model.__table__, values)  # type: ignore[attr-defined]
        if errors:
            raise InvalidInput(errors)

    def _nullable(self, name: str) -> bool:
        column = self.model.__table__.columns.get(name)  # type: ignore[attr-defined]
        return column is None or bool(column.nullable)

    async def _check_references(self, values: dict[str, Any]) -> None:
        """A foreign key must name an existing row the caller may see (a related resource's
        ``view`` permission and row rules apply): say so as invalid input, not a conflict. A
        row the caller may not see is reported as missing, as its resource's ``get`` would."""
        table = self.model.__table__  # type: ignore[attr-defined]
        errors = []
        for name, value in values.items():
            column = table.columns.get(name)
            if value is None or column is None or not column.foreign_keys:
                continue
            target = next(iter(column.foreign_keys)).column
            if not await self._reference_visible(target, value):
                errors.append(FieldError(name, f"{target.table.name} {value} does not exist."))
        if errors:
            raise InvalidInput(errors)  # every reference at fault, not only the first

    async def _reference_visible(self, target: Any, value: Any) -> bool:
        related = self.resource.related(target.table)
        if related is None:
            query = select(target).where(target == value)
            return (await self.session.exec(query)).first() is not None
        service = related.service(self.session, self.caller)
        if not await may_view(service, related):
            return False
        rows = select(related.model).where(target == value, *await service.readable())
        obj = (await self.session.exec(rows)).first()
        return obj is not None and bool(await service.can_see(obj))

    def _filter_conditions(self, filters: dict[str, Any]) -> builtins.list[ColumnElement[bool]]:
        conditions = []
        for name, raw in filters.items():
            if name not in self.filter_fields:
                raise InvalidInput.single(name, f"cannot filter {self.resource.name} by {name!r}")
            if raw is None:
                continue
            value = field_value(self.model, name, raw)
            conditions.append(col(getattr(self.model, name)) == value)
        return conditions


def field_value(model: type[SQLModel], name: str, raw: Any) -> Any:
    """``raw`` (text or a value) as a value of the field ``name`` of ``model``, validated by
    the field's type; a value its column cannot hold (``bounds.value_error``: an integer out of
    range, a NUL character) is refused too. A bad value is ``InvalidInput`` naming the field."""
    annotation = model.model_fields[name].annotation
    shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:40] + "..."
    try:
        value = TypeAdapter(annotation or Any).validate_python(raw)
    except ValidationError:
        raise InvalidInput.single(name, f"{shown} is not a valid {name}") from None
    column = model.__table__.columns.get(name)  # type: ignore[attr-defined]
    problem = None if column is None else value_error(column, value)
    if problem is not None:
        raise InvalidInput.single(name, f"{shown} cannot be a {name}: it {problem}")
    return value


async def may_view(service: Any, resource: "Resource") -> bool:
    """May the service's caller view ``resource`` at all (before its row rules)?"""
    if not resource.permissions and not isinstance(service, ResourceService):
        return bool(service.caller.is_admin and not service.caller.via_api_key)
    return bool(await service.may_read())
