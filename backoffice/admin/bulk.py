"""Bulk actions on the rows selected in an admin list, without a state-changing GET.

SQLAdmin's ``@action`` endpoints are GET routes: a link on any page could trigger them. Here the
list's action opens a confirmation page (a GET that changes nothing in the end) showing the
exact change each selected row would get, or why it would be refused (``admin.bulk_preview``);
its form POSTs, with the CSRF token and each row's version as shown, to the same address, which
runs each row in its own unit of work (one refused row does not undo the others), refuses a row
changed since the preview, and answers with a report per row.

With ``all=1`` and the list's query string, the action applies to every row the list's search
and filters match (``admin.bulk_matching``: batches, one unit of work per row).

A view declares an action with ``@bulk_action`` on a method ``(request, pk)`` that does one row
through its service; ``BulkActionView`` offers every view "Delete selected" this way.
"""

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from sqladmin import expose
from sqladmin.flash import flash
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from backoffice.admin.bulk_matching import count_matching_rows, run_matching
from backoffice.admin.bulk_preview import (
    PREVIEWED,
    RowPreview,
    previewed_row,
    rehearsal_session,
    rehearse,
)
from backoffice.admin.reads import object_label
from backoffice.admin.views import AdminFormError, ServiceModelView
from backoffice.errors import DomainError
from backoffice.models.common import MAX_ID
from backoffice.services import Caller
from backoffice.services.bounds import int_bounds
from backoffice.services.versions import hold_at, version_of

logger = logging.getLogger("backoffice.admin.bulk")

Permission = Literal["view", "add", "change", "delete"]
RowHandler = Callable[..., Awaitable[object]]
H = TypeVar("H", bound=RowHandler)
T = TypeVar("T")

PREFIX = "bulk-"
"""Our actions' keys among SQLAdmin's custom actions (so they never clash with an ``@action``)."""

FLAGS: dict[str, str] = {"add": "can_create", "change": "can_edit", "delete": "can_delete"}
"""The SQLAdmin switch that must also be on for an action needing this permission."""


@dataclass(frozen=True)
class BulkAction:
    label: str
    """In the list's Actions menu, e.g. "Deactivate selected"."""
    permission: Permission
    """What the signed-in user must be allowed on the view's resource (``allows``)."""
    done: str
    """Said of a row it was done to, e.g. "Deactivated"."""


@dataclass(frozen=True)
class RowResult:
    pk: int
    label: str
    done: bool
    message: str


_DECLARED: dict[object, BulkAction] = {}


def bulk_action(label: str, *, permission: Permission, done: str) -> Callable[[H], H]:
    """Mark a view method ``async (self, request, pk: int)`` as a bulk action; its name is the
    action's address (``/{identity}/bulk/{name}``). It should do one row through the service
    with ``self.run``, so a refusal arrives as an ``AdminFormError``."""

    def mark(handler: H) -> H:
        _DECLARED[handler] = BulkAction(label, permission, done)
        return handler

    return mark


class BulkActionView(ServiceModelView):
    """A view whose list offers its ``@bulk_action`` methods, "Delete selected" included."""

    bulk_max_rows: ClassVar[int] = 500
    """At most this many ticked rows at once (a list page shows at most 100)."""

    bulk_max_matching: ClassVar[int] = 100_000
    """At most this many rows for an action over every row the list matches; past it the
    confirmation page asks to narrow the search or filters."""

    # -- declaring -------------------------------------------------------------------------

    @bulk_action("Delete selected", permission="delete", done="Deleted")
    async def delete_selected(self, request: Request, pk: int) -> None:
        await self.delete_model(request, pk)

    @classmethod
    def bulk_actions(cls) -> dict[str, BulkAction]:
        """The declared actions by name: a subclass's first, in the order written."""
        found: dict[str, BulkAction] = {}
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if inspect.isfunction(value) and value in _DECLARED and name not in found:
                    found[name] = _DECLARED[value]
        return found

    def bulk_handler(self, name: str) -> RowHandler:
        """What does one row of the action ``name``: by default the view's method of that name."""
        handler: RowHandler = getattr(self, name)
        return handler

    def bulk_allowed(self, request: Request, action: BulkAction) -> bool:
        flag = FLAGS.get(action.permission)
        if flag is not None and not getattr(self, flag):
            return False
        return self.allows(request, action.permission)

    def bulk_row_label(self, obj: Any) -> str:
        """How a row is named on the confirmation and report pages: the model's own
        ``__str__``, else its first non-empty list column other than the key (never SQLModel's
        ``str(obj)``, which lists every field, a password hash included)."""
        return object_label(obj, self._list_prop_names)

    # -- SQLAdmin's list page: our actions in its Actions menu --------------------------------

    def _visible_custom_actions(self, request: Request, in_detail: bool = False) -> dict[str, str]:
        actions: dict[str, str] = dict(super()._visible_custom_actions(request, in_detail))
        if not in_detail:
            for name, action in self.bulk_actions().items():
                if self.bulk_allowed(request, action):
                    actions[PREFIX + name] = action.label
        return actions

    def _url_for_action(self, request: Request, action_name: str) -> str:
        name = action_name.removeprefix(PREFIX)
        if action_name.startswith(PREFIX) and name in self.bulk_actions():
            return self.bulk_url(request, name)
        return str(super()._url_for_action(request, action_name))

    def _can_delete_any(self, request: Request) -> bool:
        # On the list page our "Delete selected" (per-row report) replaces SQLAdmin's, which
        # stops at the first refusal; the list template keeps SQLAdmin's dialog for the per-row
        # delete buttons. Elsewhere (the details page) this also decides whether that dialog is
        # included, so it is left as it is.
        route = request.scope.get("route")
        if getattr(route, "name", None) == "list" and "delete_selected" in self.bulk_actions():
            return False
        return bool(super()._can_delete_any(request))

    def needs_delete_modal(self, request: Request) -> bool:
        """For the list template: the per-row delete buttons still need SQLAdmin's dialog."""
        return bool(self.can_delete and self.allows(request, "delete"))

    def matching_actions(self, request: Request) -> list[tuple[str, str]]:
        """For the list page: (label, address) of each action over every matching row."""
        query = request.url.remove_query_params(["page", "pageSize", "after", "before"]).query
        found = []
        for name, action in self.bulk_actions().items():
            if self.bulk_allowed(request, action):
                label = action.label.removesuffix(" selected")
                url = f"{self.bulk_url(request, name)}?all=1{'&' + query if query else ''}"
                found.append((label, url))
        return found

    def bulk_url(self, request: Request, name: str) -> str:
        return str(request.url_for(f"admin:view-{self.identity}-bulk", name=name))

    # -- the confirmation page and the POST ---------------------------------------------------

    @expose("/bulk/{name}", methods=["GET", "POST"])
    async def bulk(self, request: Request) -> Response:
        name = request.path_params["name"]
        action = self.bulk_actions().get(name)
        if action is None:
            raise HTTPException(status_code=404)
        if not self.bulk_allowed(request, action):
            raise HTTPException(status_code=403)
        if request.query_params.get("all") == "1":
            return await self._bulk_matching(request, name, action)
        if request.method == "POST":
            async with request.form() as form:
                selection = self._selection(_field(form, "pks"))
        else:
            selection = self._selection(request.query_params.get("pks"))
        pks = list(selection)
        context: dict[str, Any] = {
            "title": action.label,
            "model_view": self,
            "action": action,
            "action_url": self.bulk_url(request, name),
            "list_url": str(request.url_for("admin:list", identity=self.identity)),
            "pks": ",".join(map(str, pks)),
        }
        if not pks:
            context["error"] = "No rows were selected: tick the rows first, then the action."
            return await self._render(request, context, 400)
        found = await self._labels(request, pks)
        if request.method == "GET":
            rows = [RowPreview(pk, *found[pk]) for pk in pks if pk in found]
            await self._preview(request, name, rows)
            context["rows"] = rows
            context["missing"] = [pk for pk in pks if pk not in found]
            # The POST does exactly these rows, each only if still at the version shown (a
            # missing one is reported again).
            shown = {r.pk: r.version for r in rows}
            context["pks"] = ",".join(
                f"{pk}:{shown[pk]}" if shown.get(pk) is not None else str(pk) for pk in pks
            )
            return await self._render(request, context)
        results = []
        for pk in pks:
            label = found.get(pk, ("", None))[0]
            version = selection[pk]
            setattr(request.state, PREVIEWED, None if version is None else (pk, version))
            results.append(await self._do(request, name, action, pk, label))
        setattr(request.state, PREVIEWED, None)
        context["results"] = results
        context["done_count"] = done = sum(1 for r in results if r.done)
        level = "success" if done == len(results) else "warning"
        flash(request, f"{action.done}: {done} of {len(results)}.", level, action.label)
        return await self._render(request, context)

    async def _preview(self, request: Request, name: str, rows: list[RowPreview]) -> None:
        """Each row's exact change, or why it would be refused (``admin.bulk_preview``)."""
        handler = self.bulk_handler(name)

        async def do_row(pk: int) -> str | None:
            try:
                await handler(request, pk)
            except AdminFormError as exc:
                return str(exc)
            except Exception:
                logger.exception("bulk %s preview of %s %s failed", name, self.identity, pk)
                return "Would fail: an unexpected error (it has been logged)."
            return None

        async with self.office.session_maker() as session:
            await rehearse(request, session, self.model, rows, do_row)

    async def run(
        self, request: Request, action: Callable[[AsyncSession, Caller], Awaitable[T]]
    ) -> T:
        """A row of a bulk action: rehearsed in the preview's savepoint, or done only if the
        row is still at the version the preview showed; else as any form submission."""
        rehearsal = rehearsal_session(request)
        if rehearsal is not None:
            try:
                async with rehearsal.begin_nested():
                    return await action(rehearsal, self.caller(request))
            except DomainError as exc:
                raise AdminFormError(exc.detail) from None
        previewed = previewed_row(request)
        if previewed is None:
            return await super().run(request, action)
        pk, version = previewed

        async def held(session: AsyncSession, caller: Caller) -> T:
            await hold_at(session, self.model, pk, version, f"{self.name} {pk}")
            return await action(session, caller)

        return await super().run(request, held)

    async def _bulk_matching(self, request: Request, name: str, action: BulkAction) -> Response:
        """Every row the list's query (this request's query string) matches: the count on the
        confirmation page, then the action row by row and a summary."""
        query = request.url.remove_query_params(["all"]).query
        list_url = str(request.url_for("admin:list", identity=self.identity))
        heading = action.label.removesuffix(" selected")
        context: dict[str, Any] = {
            "title": f"{heading}: every matching row",
            "heading": f"{heading} every matching row",
            "verb": heading,
            "model_view": self,
            "action": action,
            "action_url": f"{self.bulk_url(request, name)}?{request.url.query}",
            "list_url": f"{list_url}?{query}" if query else list_url,
        }
        count, within = await count_matching_rows(self, request)
        if not within:
            context["error"] = (
                f"More than {self.bulk_max_matching:,} rows match: narrow the search or the "
                "filters, then try again."
            )
            return await self._render(request, context, 400)
        if not count:
            context["error"] = "No rows match the list's search and filters."
            return await self._render(request, context, 400)
        if request.method == "GET":
            context["matching_count"] = count
            return await self._render(request, context)
        report = await run_matching(
            self, request, lambda pk: self._do(request, name, action, pk, f"#{pk}")
        )
        context["matching"] = report
        return await self._render(request, context)

    async def _do(
        self, request: Request, name: str, action: BulkAction, pk: int, label: str
    ) -> RowResult:
        handler = self.bulk_handler(name)
        try:
            await handler(request, pk)
        except AdminFormError as exc:
            return RowResult(pk, label, False, str(exc))
        except Exception:
            logger.exception("bulk %s of %s %s failed", name, self.identity, pk)
            return RowResult(pk, label, False, "Failed: an unexpected error (it has been logged).")
        return RowResult(pk, label, True, action.done)

    def _selection(self, raw: str | None) -> dict[int, int | None]:
        """The selected keys (``1,2,3``), each once, in order, with the version the preview
        showed when it says (``1:4``); a malformed list is a 400.

        Linear, and the cap is checked on the raw parts before any is converted, so a huge
        selection is refused at once."""
        parts = [part for part in (raw or "").split(",") if part.strip()]
        if len(parts) > self.bulk_max_rows:
            detail = f"Select at most {self.bulk_max_rows} rows at a time."
            raise HTTPException(status_code=400, detail=detail)
        low, high = int_bounds(self.pk_columns[0])
        pks: dict[int, int | None] = {}
        for part in parts:
            key, _, shown = part.partition(":")
            try:
                pk = int(key)
                version = int(shown) if shown else None
            except ValueError:
                raise HTTPException(status_code=400, detail="Invalid selection.") from None
            if not low <= pk <= high or not 0 <= (version or 0) <= MAX_ID:
                raise HTTPException(status_code=400, detail="Invalid selection.")
            pks.setdefault(pk, version)
        return pks

    async def labels_of(self, request: Request, pks: list[int]) -> dict[int, str]:
        """The labels of the selected rows the caller may see (``_labels`` without versions)."""
        return {pk: label for pk, (label, _) in (await self._labels(request, pks)).items()}

    async def _labels(self, request: Request, pks: list[int]) -> dict[int, tuple[str, int | None]]:
        """The selected rows the caller may see, with their labels and versions (read before
        anything changes): the service's ``visible()`` and ``can_see``, as on the details
        page."""
        key = self.pk_columns[0]
        async with self.office.session() as session:
            service = self.read_service(session, self.caller(request))
            query: Any = select(self.model).where(key.in_(pks), *await service.readable())
            rows = (await session.exec(query)).all()
            return {
                getattr(row, key.key): (self.bulk_row_label(row), version_of(row))
                for row in rows
                if await service.can_see(row)
            }

    async def _render(
        self, request: Request, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        response: Response = await self.templates.TemplateResponse(
            request, "backoffice/bulk.html", context, status_code=status_code
        )
        return response


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None
