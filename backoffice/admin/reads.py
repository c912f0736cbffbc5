"""The admin's reads come from the services: what a page shows is what the API would show.

SQLAdmin builds its queries in sync hooks (``list_query``, ``count_query``,
``form_details_query``, ``form_edit_query``), while a service's visibility (``visible()``) is
async. So every async entry point that reads (``list``, ``count``, ``get_model_objects``,
``get_object_for_details``, ``get_object_for_edit``; export, bulk and history go through these
or ``prepare_reads``) first asks the view's service for the caller's conditions and keeps them
on the request; the sync hooks then add them to the select. A hook reached without that step
raises instead of reading the whole table.

One row is read with the conditions, then ``can_see(obj)``: a row the service hides answers
404, as in the API. Editing and deleting also ask ``permits(action, obj)``: a row the caller
sees but may not change answers 403.
"""

import builtins
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from markupsafe import Markup
from sqladmin import ModelView
from sqladmin.helpers import get_object_identifier, get_primary_keys, object_identifier_values
from sqlalchemy import ColumnElement, Integer, Select
from sqlalchemy import inspect as sa_inspect
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from backoffice.admin.auth import admin_caller
from backoffice.admin.filters import check_filter_values
from backoffice.models.permissions import Action
from backoffice.registry import SECRET_NAME
from backoffice.services import Caller
from backoffice.services.base import Service
from backoffice.services.bounds import int_bounds

if TYPE_CHECKING:
    from backoffice.office import BackOffice

Prepared = dict[str, list[ColumnElement[bool]]]

_STATE_KEY = "backoffice_visible"

ROUTE_ACTIONS: dict[str, Action] = {"edit": "change", "delete": "delete"}
"""SQLAdmin routes that read a row to act on it (any other reads it to show it)."""
"""``request.state`` attribute: the caller's conditions, by view identity."""


def pk_values_or_404(model: Any, pk: Any) -> list[Any]:
    """The key values named by the ``pk`` path parameter; 404 for one that cannot name a row
    (not a number, out of the column's range, a NUL byte)."""
    if not isinstance(pk, str) or not pk or "\x00" in pk:
        raise HTTPException(status_code=404)
    try:
        values: list[Any] = list(object_identifier_values(pk, model))
    except (ValueError, TypeError, OverflowError):
        raise HTTPException(status_code=404) from None
    for column, value in zip(get_primary_keys(model), values, strict=False):
        if isinstance(value, int) and isinstance(getattr(column, "type", None), Integer):
            low, high = int_bounds(column)
            if not low <= value <= high:
                raise HTTPException(status_code=404)
    return values


def has_own_str(obj: Any) -> bool:
    """Does the model define ``__str__`` itself (not SQLModel's, which lists every field)?"""
    for klass in type(obj).__mro__:
        if "__str__" in vars(klass):
            return klass.__module__.split(".")[0] not in {"sqlmodel", "pydantic", "builtins"}
    return False


def object_label(obj: Any, columns: Any = ()) -> str:
    """How a row is named on a page: the model's own ``__str__`` if it defines one, else its
    first non-empty, non-secret column (``columns`` first), else its class and key. Never
    SQLModel's text, which lists every field, a password hash included."""
    if obj is None:
        return ""
    if has_own_str(obj):
        return str(obj)
    mapper: Any = sa_inspect(type(obj))
    keys = {c.key for c in mapper.primary_key}
    names = [*columns, *mapper.column_attrs.keys()]
    for name in names:
        if name in keys or name not in mapper.column_attrs or SECRET_NAME.search(name):
            continue
        value = getattr(obj, name, None)
        if isinstance(value, Enum):  # before str: a (str, Enum) member's str() is "Cls.member"
            return str(value.value)
        if isinstance(value, str) and value.strip():
            return value
    identity = sa_inspect(obj).identity
    key = ",".join(map(str, identity)) if identity else "?"
    return f"{type(obj).__name__} {key}"


class ReadingView(ModelView):
    """A SQLAdmin view whose every read is narrowed by its service's rules for the caller."""

    office: ClassVar["BackOffice"]
    """Set when the view is registered with a BackOffice (each office gets its own subclass)."""

    def caller(self, request: Request) -> Caller:
        return admin_caller(request)

    def read_service(self, session: AsyncSession, caller: Caller) -> Service:
        """The service whose rules govern this view's reads: the registered resource's, else
        one with no row rules."""
        resource = self.office.registry.for_model(self.model)
        if resource is None:
            return Service(session, caller)
        service: Service = self.office.service(resource.name, session, caller)
        return service

    # -- the caller's conditions, once per request ---------------------------------------------

    async def prepare_reads(self, request: Request) -> builtins.list[ColumnElement[bool]]:
        """Ask the service what the caller may see; the sync query hooks then apply it."""
        prepared: Prepared = getattr(request.state, _STATE_KEY, {})
        if self.identity not in prepared:
            async with self.office.session() as session:
                service = self.read_service(session, self.caller(request))
                prepared[self.identity] = await service.readable()
            setattr(request.state, _STATE_KEY, prepared)
        return prepared[self.identity]

    def visible_query(self, request: Request, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` narrowed to the rows the caller may see (``prepare_reads`` came first)."""
        prepared = getattr(request.state, _STATE_KEY, {})
        if self.identity not in prepared:
            raise RuntimeError(
                f"{type(self).__name__}: await prepare_reads(request) before building a read "
                "query, so the service's visibility applies"
            )
        conditions = prepared[self.identity]
        return stmt.where(*conditions) if conditions else stmt

    def list_query(self, request: Request) -> Select[Any]:
        return self.visible_query(request, super().list_query(request))

    def count_query(self, request: Request) -> Select[Any]:
        return self.visible_query(request, super().count_query(request))

    def form_details_query(self, request: Request) -> Select[Any]:
        return self.visible_query(request, super().form_details_query(request))

    def form_edit_query(self, request: Request) -> Select[Any]:
        return self.visible_query(request, super().form_edit_query(request))

    # -- SQLAdmin's async entry points: prepare, then read -----------------------------------

    async def list(self, request: Request) -> Any:
        await check_filter_values(request, self.model, self.get_filters())
        await self.prepare_reads(request)
        return await super().list(request)

    async def count(self, request: Request, stmt: Select[Any] | None = None) -> int:
        await self.prepare_reads(request)
        return await super().count(request, stmt)

    async def get_model_objects(
        self, request: Request, limit: int | None = 0
    ) -> builtins.list[Any]:
        await self.prepare_reads(request)
        return builtins.list(await super().get_model_objects(request, limit))

    async def get_object_for_details(self, request: Request) -> Any:
        return await self._visible_object(request, self.details_query)

    async def get_object_for_edit(self, request: Request) -> Any:
        obj = await self._visible_object(request, self.form_edit_query)
        request.state.backoffice_edited = obj  # its related rows stay choices on the form
        return obj

    async def _visible_object(self, request: Request, query: Any) -> Any:
        """The row named by the ``pk`` path parameter if the service shows it to the caller,
        else None; 404 for a key that cannot name a row.

        As the service's own ``get``/``update``/``delete`` load a row: it must meet
        ``visible()``, and the caller must see it (``can_see``) or, on the edit and delete
        routes, be allowed that action on it (a delete-only permission deletes unseen rows)."""
        pk_values_or_404(self.model, request.path_params.get("pk"))
        route = getattr(request.scope.get("route"), "name", None)
        action: Action = ROUTE_ACTIONS.get(str(route), "view")
        async with self.office.session() as session:
            service = self.read_service(session, self.caller(request))
            prepared = getattr(request.state, _STATE_KEY, {})
            prepared[self.identity] = await service.readable()
            setattr(request.state, _STATE_KEY, prepared)
            result = await session.exec(query(request))
            obj = result.scalars().unique().first()
            if obj is None:
                return None
            if await service.can_see(obj):
                return obj
            if action != "view" and await service.permits(action, obj):
                return obj
            return None

    async def permits(self, request: Request, action: Action, obj: Any) -> bool:
        """Does the service let the caller ``action`` this row?"""
        async with self.office.session() as session:
            return await self.read_service(session, self.caller(request)).permits(action, obj)

    # -- SQLAdmin's per-row checks: a hidden row is missing, a refused one forbidden -----------

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        return bool(await super().check_can_view_details(request, model))

    async def check_can_edit(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        allowed = bool(await super().check_can_edit(request, model))
        return allowed and await self.permits(request, "change", model)

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        allowed = bool(await super().check_can_delete(request, model))
        return allowed and await self.permits(request, "delete", model)

    # -- a related row is shown by its label, linked when the caller may view it --------------

    def __init__(self) -> None:
        super().__init__()
        # SQLAdmin links every related row to a details page, whether or not the caller may
        # open it (or it has one); the cells below build their own links.
        self._non_link_related_fields = builtins.list(self._relation_names)

    async def get_list_value(
        self, obj: Any, prop: str, request: Request | None = None
    ) -> tuple[Any, Any]:
        value, formatted = await super().get_list_value(obj, prop, request)
        if prop in self._relation_names and prop not in self._list_formatters:
            formatted = self.relation_cell(value, request)
        return value, formatted

    async def get_detail_value(
        self, obj: Any, prop: str, request: Request | None = None
    ) -> tuple[Any, Any]:
        value, formatted = await super().get_detail_value(obj, prop, request)
        if prop in self._relation_names and prop not in self._detail_formatters:
            formatted = self.relation_cell(value, request)
        return value, formatted

    def relation_cell(self, value: Any, request: Request | None) -> Any:
        """A relation's value as the template expects it (one label, or a list of them), each
        linked to the related row's details page if the caller may view that resource."""
        if isinstance(value, list | set | tuple):
            return [self._linked_label(item, request) for item in value]
        return self._linked_label(value, request)

    def _linked_label(self, obj: Any, request: Request | None) -> str:
        label = object_label(obj)
        if obj is None or request is None:
            return label
        view = self._view_for(type(obj), request)
        if view is None:
            return label
        url = request.url_for("admin:details", identity=view.identity, pk=_identifier(obj))
        return Markup('<a href="{}">{}</a>').format(str(url), label)

    def _view_for(self, model: Any, request: Request) -> Any:
        """The admin view of ``model``, if the caller may view it (its ``view`` permission)."""
        admin = getattr(self, "_admin_ref", None)
        for view in getattr(admin, "views", ()):
            if getattr(view, "model", None) is model:
                allows = getattr(view, "allows", None)
                return view if allows is not None and allows(request, "view") else None
        return None


def relation_label(value: Any) -> Any:
    """A relation's value as plain labels: one label, or a list of labels."""
    if isinstance(value, list | set | tuple):
        return [object_label(item) for item in value]
    return object_label(value)


def _identifier(obj: Any) -> Any:
    return get_object_identifier(obj)
