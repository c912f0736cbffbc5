"""Bulk actions on the rows selected in an admin list, without a state-changing GET.

SQLAdmin's ``@action`` endpoints are GET routes: a link on any page could trigger them. Here the
list's action opens a confirmation page (a GET that changes nothing) listing the selected rows;
its form POSTs, with the CSRF token, to the same address, which runs each row in its own unit of
work (one refused row does not undo the others) and answers with a report per row.

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
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from backoffice.admin.reads import object_label
from backoffice.admin.views import AdminFormError, ServiceModelView
from backoffice.services.bounds import int_bounds

logger = logging.getLogger("backoffice.admin.bulk")

Permission = Literal["view", "add", "change", "delete"]
RowHandler = Callable[..., Awaitable[object]]
H = TypeVar("H", bound=RowHandler)

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
    """At most this many rows at once (a list page shows at most 100)."""

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
        if request.method == "POST":
            async with request.form() as form:
                pks = self._selection(_field(form, "pks"))
        else:
            pks = self._selection(request.query_params.get("pks"))
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
        labels = await self._labels(request, pks)
        if request.method == "GET":
            context["rows"] = [(pk, labels[pk]) for pk in pks if pk in labels]
            context["missing"] = [pk for pk in pks if pk not in labels]
            return await self._render(request, context)
        results = [await self._do(request, name, action, pk, labels.get(pk, "")) for pk in pks]
        context["results"] = results
        context["done_count"] = done = sum(1 for r in results if r.done)
        level = "success" if done == len(results) else "warning"
        flash(request, f"{action.done}: {done} of {len(results)}.", level, action.label)
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

    def _selection(self, raw: str | None) -> list[int]:
        """The selected keys (``1,2,3``), each once, in order; a malformed list is a 400.

        Linear, and the cap is checked on the raw parts before any is converted, so a huge
        selection is refused at once."""
        parts = [part for part in (raw or "").split(",") if part.strip()]
        if len(parts) > self.bulk_max_rows:
            detail = f"Select at most {self.bulk_max_rows} rows at a time."
            raise HTTPException(status_code=400, detail=detail)
        low, high = int_bounds(self.pk_columns[0])
        pks: dict[int, None] = {}
        for part in parts:
            try:
                pk = int(part)
            except ValueError:
                raise HTTPException(status_code=400, detail="Invalid selection.") from None
            if not low <= pk <= high:  # cannot name a row (and the driver would fail)
                raise HTTPException(status_code=400, detail="Invalid selection.")
            pks[pk] = None
        return list(pks)

    async def _labels(self, request: Request, pks: list[int]) -> dict[int, str]:
        """The selected rows the caller may see, with their labels (read before anything
        changes): the service's ``visible()`` and ``can_see``, as on the details page."""
        key = self.pk_columns[0]
        async with self.office.session() as session:
            service = self.read_service(session, self.caller(request))
            query: Any = select(self.model).where(key.in_(pks), *await service.visible())
            rows = (await session.exec(query)).all()
            return {
                getattr(row, key.key): self.bulk_row_label(row)
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
