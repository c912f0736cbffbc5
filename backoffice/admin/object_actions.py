"""A resource's custom actions in the admin (``services.actions``): a button per action on the
details page, for the users the service would allow, and the same action among the list's bulk
actions (confirmation page, per-row report).

The button is a form that POSTs, with the CSRF token, to ``/{identity}/action/{name}/{pk}``; the
service's ``run_action`` does it in one unit of work. Done or refused by the rules (a conflict,
invalid input), the answer is a flash message and a redirect back to the details page; a row the
user may not see is 404 and one they may not act on is 403, as in the API.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

from sqladmin import expose
from sqladmin.flash import flash
from sqladmin.helpers import get_object_identifier
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backoffice.admin.bulk import BulkAction, BulkActionView, RowHandler
from backoffice.admin.reads import pk_values_or_404
from backoffice.errors import DomainError, NotFound, PermissionDenied
from backoffice.services.actions import ResourceAction


@dataclass(frozen=True)
class ActionButton:
    name: str
    label: str
    url: str
    confirm: str


class ObjectActionView(BulkActionView):
    """A view of a registered resource whose service declares custom actions."""

    resource_name: ClassVar[str]
    service_actions: ClassVar[dict[str, ResourceAction]] = {}
    """The service's ``@resource_action`` methods (set when the view is built)."""

    @classmethod
    def bulk_actions(cls) -> dict[str, BulkAction]:
        found = {
            name: BulkAction(declared.label, declared.permission, declared.done)
            for name, declared in cls.service_actions.items()
        }
        for name, action in super().bulk_actions().items():
            found.setdefault(name, action)
        return found

    def bulk_handler(self, name: str) -> RowHandler:
        if name not in self.service_actions:
            return super().bulk_handler(name)

        async def one_row(request: Request, pk: int) -> None:
            await self.run(
                request, lambda s, c: self._action_service(s, request).run_action(name, pk)
            )

        return one_row

    def _action_service(self, session: Any, request: Request) -> Any:
        return self.office.service(self.resource_name, session, self.caller(request))

    def _view_allows(self, request: Request, declared: ResourceAction) -> bool:
        return self.bulk_allowed(request, BulkAction(declared.label, declared.permission, ""))

    # -- the details page's buttons -------------------------------------------------------------

    async def object_actions(self, request: Request, obj: Any) -> list[ActionButton]:
        """For the details template: a button per action the service lets this user do to
        ``obj`` (``has_permission(permission, obj)``)."""
        if obj is None or not self.service_actions:
            return []
        pk = get_object_identifier(obj)
        async with self.office.session() as session:
            allowed = await self._action_service(session, request).allowed_actions(obj)
        return [
            ActionButton(
                declared.name,
                declared.label,
                str(
                    request.url_for(f"admin:view-{self.identity}-action", name=declared.name, pk=pk)
                ),
                declared.confirm,
            )
            for declared in allowed
            if self._view_allows(request, declared)
        ]

    # -- the button's POST ----------------------------------------------------------------------

    @expose("/action/{name}/{pk}", methods=["POST"])
    async def action(self, request: Request) -> Response:
        declared = self.service_actions.get(request.path_params["name"])
        if declared is None:
            raise HTTPException(status_code=404)
        if not self._view_allows(request, declared):
            raise HTTPException(status_code=403)
        raw = request.path_params["pk"]
        pk = pk_values_or_404(self.model, raw)[0]
        back = str(request.url_for("admin:details", identity=self.identity, pk=raw))
        try:
            async with self.office.session() as session:
                obj = await self._action_service(session, request).run_action(declared.name, pk)
                label = self.bulk_row_label(obj)
        except NotFound:
            raise HTTPException(status_code=404) from None
        except PermissionDenied as exc:
            raise HTTPException(status_code=403, detail=exc.detail) from None
        except DomainError as exc:
            flash(request, exc.detail, "danger", f"{declared.label}: refused")
            return RedirectResponse(back, status_code=303)
        flash(request, f"{declared.done}: {label}", "success", declared.label)
        return RedirectResponse(back, status_code=303)
