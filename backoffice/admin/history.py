"""One object's history, newest first, like Django's "History" page: read from the audit log.

Shown only to someone who may view both the object's resource and the audit log itself. Each
entry has its revert buttons (``admin.reverts``).
"""

from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.admin.audit import AuditEntryAdmin
from backoffice.admin.lookup import (
    AdminPage,
    audit_id,
    object_or_404,
    render,
    service_view,
    view_of,
)
from backoffice.admin.views import AdminFormError, ServiceModelView
from backoffice.models import AuditEntry, Page
from backoffice.services import Caller
from backoffice.services.audit import AuditService

PAGE_SIZE = 50
MAX_PAGE = 100_000


def may_read_history(admin: Admin, view: ServiceModelView, request: Request) -> bool:
    audit = view_of(admin, AuditEntryAdmin)
    return (
        bool(view.audit_type)
        and audit is not None
        and view.allows(request, "view")
        and audit.allows(request, "view")
    )


class HistoryPage(AdminPage):
    @login_required
    async def show(self, request: Request) -> Response:
        admin = self._admin_ref
        view = service_view(admin, request.path_params["identity"])
        if not view.audit_type:
            raise HTTPException(status_code=404)
        if not may_read_history(admin, view, request):
            raise HTTPException(status_code=403)
        obj = await object_or_404(view, request)
        page = page_number(request.query_params.get("page"))
        skip = (page - 1) * PAGE_SIZE
        object_type, object_id = view.audit_type, audit_id(obj)

        async def read(
            session: AsyncSession, caller: Caller
        ) -> tuple[Page[AuditEntry], dict[str, int]]:
            audit = AuditService(session, caller)
            found = await audit.list(
                object_type=object_type,
                object_id=object_id,
                sort="-id",
                skip=skip,
                limit=PAGE_SIZE,
            )
            units = [entry.unit for entry in found.items if entry.unit]
            return found, await audit.unit_sizes(units)

        try:
            entries, unit_sizes = await view.run(request, read)
        except AdminFormError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        audit = view_of(admin, AuditEntryAdmin)
        context = {
            "title": "History",
            "model_view": view,
            "model": obj,
            "audit_identity": audit.identity if audit is not None else None,
            "entries": entries.items,
            "page": page,
            "has_older": entries.total > skip + len(entries.items),
            "total": entries.total,
            "unit_sizes": unit_sizes,
        }
        return await render(admin, request, "backoffice/history.html", context)


def history_routes(admin: Admin) -> list[Route]:
    page = HistoryPage(admin)
    return [Route("/{identity}/history/{pk:path}", page.show, name="history")]


def page_number(value: str | None) -> int:
    try:
        number = int(value or "1")
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)
