"""Finding views and rows for the admin's own pages (dashboard, history, set password).

SQLAdmin guards only its own routes; these helpers give the extra pages the same answers (404 for
an unknown view or row, never a 500 for a malformed key).
"""

from typing import Any, TypeVar

from sqladmin import Admin
from sqlalchemy import inspect as sa_inspect
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from backoffice.admin.views import ServiceModelView

V = TypeVar("V", bound=ServiceModelView)


def view_of(admin: Admin, kind: type[V]) -> V | None:
    """The registered view of this kind (each office registers a subclass), if any."""
    for view in admin.views:
        if isinstance(view, kind):
            return view
    return None


def service_view(admin: Admin, identity: str) -> ServiceModelView:
    """The view at ``/{identity}/…``; 404 when there is none."""
    for view in admin.views:
        if isinstance(view, ServiceModelView) and view.identity == identity:
            return view
    raise HTTPException(status_code=404)


async def object_or_404(view: ServiceModelView, request: Request) -> Any:
    """The row named by the ``pk`` path parameter, read as the view's details page reads it:
    404 for a malformed key, a missing row or one the service hides from the caller."""
    obj = await view.get_object_for_details(request)
    if obj is None:
        raise HTTPException(status_code=404)
    return obj


def audit_id(obj: Any) -> str:
    """The ``object_id`` under which the audit log records ``obj`` (as ``AuditService`` does)."""
    identity = sa_inspect(obj).identity
    return str(identity[0]) if identity else ""


async def render(
    admin: Admin,
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    response: Response = await admin.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


class AdminPage:
    """The base of backoffice's own admin pages (dashboard, history, set password, export)."""

    def __init__(self, admin: Admin) -> None:
        self._admin_ref = admin  # the name SQLAdmin's login_required looks for
