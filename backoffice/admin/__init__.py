"""The admin door: SQLAdmin views over the same services as the API."""

from typing import TYPE_CHECKING

from fastapi import FastAPI
from sqladmin import Admin
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from backoffice.admin.api_keys import api_key_routes
from backoffice.admin.audit import AuditEntryAdmin
from backoffice.admin.auth import SESSION_KEY, AdminAuth
from backoffice.admin.choices import choices_routes
from backoffice.admin.csrf import CSRFMiddleware, current_csrf_token
from backoffice.admin.errors import install_error_pages
from backoffice.admin.export import install_export
from backoffice.admin.formatting import changes_list, label_of, when
from backoffice.admin.guards import QueryGuardMiddleware
from backoffice.admin.headers import SecurityHeadersMiddleware
from backoffice.admin.list_editing import list_edit_routes
from backoffice.admin.messages import SuccessMessages, form_problems
from backoffice.admin.pages import install_pages
from backoffice.admin.password_reset import password_reset_routes
from backoffice.admin.resources import ResourceAdmin
from backoffice.admin.routes import restrict_routes
from backoffice.admin.security import security_routes
from backoffice.admin.sign_in import sign_in_routes
from backoffice.admin.views import ServiceModelView
from backoffice.resources import resource_dir

if TYPE_CHECKING:
    from backoffice.office import BackOffice


def setup_admin(office: "BackOffice", app: FastAPI) -> Admin:
    settings = office.settings
    auth_backend = AdminAuth(office)
    admin = Admin(
        app,
        engine=office.engine,
        base_url=settings.admin_path,
        title=settings.project_name,
        logo_url=settings.logo_url or None,
        favicon_url=f"{settings.admin_path}/_backoffice/admin/favicon.svg",
        authentication_backend=auth_backend,
        templates_dir=str(resource_dir("templates")),
    )
    # Appended, not passed to Admin(middlewares=…): these must sit inside the session
    # middleware to see the session.
    admin.admin.user_middleware.append(
        Middleware(CSRFMiddleware, trusted_origins=[settings.base_url], signed_in_key=SESSION_KEY)
    )
    admin.admin.user_middleware.insert(
        0,
        Middleware(
            SecurityHeadersMiddleware, hsts=settings.is_production, base_url=settings.base_url
        ),
    )
    admin.admin.user_middleware.insert(0, Middleware(QueryGuardMiddleware))
    # Outermost: a Host the site does not answer to gets no page whose links would name it.
    admin.admin.user_middleware.insert(
        0, Middleware(TrustedHostMiddleware, allowed_hosts=settings.admin_hosts())
    )
    _make_logout_post_only(admin)
    install_export(admin)  # streamed, secret-free; SQLAdmin's own is never reachable
    auth_backend.admin = admin
    admin.admin.router.routes.extend(password_reset_routes(office, admin))
    admin.admin.router.routes.extend(sign_in_routes(office, admin, auth_backend))
    admin.admin.router.routes.extend(security_routes(admin, office))
    install_pages(admin)
    admin.admin.router.routes.extend(api_key_routes(admin))
    install_error_pages(admin)
    admin.admin.router.routes.extend(choices_routes(admin))  # relation search (choices.py)
    admin.admin.router.routes.extend(list_edit_routes(admin))  # list_editable (list_editing.py)
    admin.admin.router.routes.append(
        Mount(
            "/_backoffice",
            app=StaticFiles(directory=resource_dir("static")),
            name="backoffice_static",
        )
    )
    admin.templates.env.globals["csrf_token"] = current_csrf_token
    # SQLAdmin's templates indent their block tags: without these, every tag leaves its line's
    # indentation and newline in the page, two thirds of a 100-row list page's weight.
    admin.templates.env.trim_blocks = True
    admin.templates.env.lstrip_blocks = True
    admin.templates.env.globals["form_problems"] = form_problems
    admin.templates.env.globals["changes_list"] = changes_list
    admin.templates.env.globals["label_of"] = label_of
    admin.templates.env.filters["when"] = when
    views: list[type[ServiceModelView]] = []
    for resource in office.registry:
        if resource.admin_class is None:
            continue
        if issubclass(resource.admin_class, ResourceAdmin):
            views.append(resource.admin_class.build_view(resource, office))
        else:
            views.append(resource.admin_class)
    views.append(AuditEntryAdmin)
    for view in views:
        # A subclass per office: SQLAdmin stores its engine on the view class.
        # SuccessMessages first: it wraps the view's own writes (admin/messages.py).
        admin.add_view(type(view.__name__, (SuccessMessages, view), {"office": office}))
    restrict_routes(admin)  # last: only the listed routes are served (routes.py)
    app.state.backoffice_admin = admin  # for tools and tests that walk the admin's views
    return admin


def _make_logout_post_only(admin: Admin) -> None:
    routes = admin.admin.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, Route) and route.name == "logout":
            routes[index] = Route("/logout", endpoint=admin.logout, name="logout", methods=["POST"])
            return
    raise RuntimeError("SQLAdmin has no logout route to replace")
