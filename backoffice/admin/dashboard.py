"""The admin's front page: a count per resource and the latest changes.

Each block appears only to someone who may view its resource, so a staff user without
permissions sees an empty page, never numbers. Counts are bounded as a list page's are
(``list_count_cap``: "more than 10,000"), so the page costs the same at a million rows.
"""

from dataclasses import dataclass

from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.admin.audit import AuditEntryAdmin
from backoffice.admin.lookup import AdminPage, render, view_of
from backoffice.admin.users import UserAdmin
from backoffice.admin.views import ServiceModelView
from backoffice.models import AuditEntry, User

LATEST_ENTRIES = 10


@dataclass(frozen=True)
class Count:
    label: str
    value: int
    url: str
    exact: bool = True
    """False: at least ``value`` rows (the count stopped at its bound)."""

    @property
    def shown(self) -> str:
        return f"{self.value:,}" if self.exact else f"more than {self.value:,}"


class Dashboard(AdminPage):
    @login_required
    async def index(self, request: Request) -> Response:
        admin = self._admin_ref
        counts = await self._counts(request)
        entries = await self._latest_entries(request)
        audit = view_of(admin, AuditEntryAdmin)
        context = {
            "title": "Dashboard",
            "counts": counts,
            "entries": entries,
            "audit_identity": audit.identity if audit is not None else None,
        }
        return await render(admin, request, "backoffice/dashboard.html", context)

    async def _counts(self, request: Request) -> list[Count]:
        """One count per resource the user may view, in menu order (a host's included)."""
        counts = []
        for view in self._admin_ref.views:
            if not isinstance(view, ServiceModelView) or isinstance(view, AuditEntryAdmin):
                continue
            if not view.allows(request, "view"):
                continue
            url = str(request.url_for("admin:list", identity=view.identity))
            value, exact = await view.bounded_count(request)  # the rows the caller may see
            counts.append(Count(str(view.name_plural), value, url, exact))
            if isinstance(view, UserAdmin):
                active = view.list_query(request).where(col(User.is_active).is_(True))
                value, exact = await view.bounded_count(request, active)
                counts.append(Count("Active users", value, url, exact))
        return counts

    async def _latest_entries(self, request: Request) -> list[AuditEntry] | None:
        """None when the audit log is not for this user (the block is then not shown)."""
        audit = view_of(self._admin_ref, AuditEntryAdmin)
        if audit is None or not audit.allows(request, "view"):
            return None
        # The audit log page's own query, newest first; not AuditService.list, which would
        # count the whole log for a total the dashboard does not show.
        await audit.prepare_reads(request)
        query = audit.list_query(request).order_by(col(AuditEntry.id).desc()).limit(LATEST_ENTRIES)
        async with audit.office.session() as session:
            return list((await session.exec(query)).scalars().all())


def dashboard_route(admin: Admin) -> Route:
    return Route("/", Dashboard(admin).index, name="index")
