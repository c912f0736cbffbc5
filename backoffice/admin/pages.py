"""The admin's own pages beside SQLAdmin's: the dashboard (in place of SQLAdmin's empty index),
each object's history (with its revert buttons), a resource's trash and the user's "Set
password" form, and the links to them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqladmin import Admin
from sqladmin.helpers import get_object_identifier
from starlette.requests import Request
from starlette.routing import Route

from backoffice.admin.dashboard import dashboard_route
from backoffice.admin.formatting import field_changes
from backoffice.admin.history import history_routes, may_read_history
from backoffice.admin.reverts import revert_routes
from backoffice.admin.security import may_manage_security
from backoffice.admin.set_password import may_set_password, set_password_routes
from backoffice.admin.trash import trash_link, trash_routes
from backoffice.admin.users import UserAdmin
from backoffice.admin.versions import stale_save
from backoffice.admin.views import ServiceModelView


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    icon: str


def install_pages(admin: Admin) -> None:
    routes = admin.admin.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, Route) and route.name == "index":
            routes[index] = dashboard_route(admin)
            break
    else:
        raise RuntimeError("SQLAdmin has no index route to replace")
    routes.extend(
        [
            *history_routes(admin),
            *set_password_routes(admin),
            *revert_routes(admin),
            *trash_routes(admin),
        ]
    )
    admin.templates.env.globals["object_links"] = object_links(admin)
    # The edit form after a refused stale save (admin.versions), its changes shown as History's.
    admin.templates.env.globals["stale_save"] = stale_save
    admin.templates.env.globals["field_changes"] = field_changes
    admin.templates.env.globals["trash_link"] = trash_link


def object_links(admin: Admin) -> Callable[[Request, Any, Any], list[Link]]:
    """For templates: the pages of one object this user may open (shown on details and edit)."""

    def links(request: Request, view: Any, obj: Any) -> list[Link]:
        if not isinstance(view, ServiceModelView) or obj is None:
            return []
        pk = get_object_identifier(obj)
        found = []
        if may_read_history(admin, view, request):
            url = request.url_for("admin:history", identity=view.identity, pk=pk)
            found.append(Link("History", str(url), "fa-solid fa-clock-rotate-left"))
        if may_set_password(view, request):
            url = request.url_for("admin:set_password", identity=view.identity, pk=pk)
            found.append(Link("Set password", str(url), "fa-solid fa-key"))
        if isinstance(view, UserAdmin) and may_manage_security(request):
            url = request.url_for("admin:user_security", identity=view.identity, pk=pk)
            found.append(Link("Sign-in security", str(url), "fa-solid fa-shield-halved"))
        return found

    return links
