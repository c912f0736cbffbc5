"""The admin's routes: an explicit allow-list, applied once the admin is built.

SQLAdmin mounts more than backoffice offers, and some of it is dangerous here: its file
download and preview routes (``/{identity}/{pk}/{column}/download/``, ``/preview/``) serve the
file a text column names, so a user who sets their own name to ``.env`` could read the secret
key through them. After SQLAdmin, the views and backoffice's own pages have added their routes,
``restrict_routes`` keeps exactly the routes listed here and drops every other one, so any
address not listed answers 404. An allowed route that is missing, or no longer has the path and
methods listed, stops the start-up: an upgrade of SQLAdmin that moves a route is noticed, not
silently served.

Some dropped routes are still named by SQLAdmin's templates (``url_for('admin:ajax_lookup')``
on every create and edit form, ``admin:import`` when a view allows import): they are replaced by
an ``AddressOnly`` route, which builds the address but matches no request.
"""

import logging
from dataclasses import dataclass

from sqladmin import Admin
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from backoffice.admin.bulk import BulkActionView
from backoffice.admin.object_actions import ObjectActionView

logger = logging.getLogger("backoffice.admin")


@dataclass(frozen=True)
class Allowed:
    path: str
    methods: frozenset[str] | None
    """None for a mount (static files: GET and HEAD only, by StaticFiles itself)."""
    ours: bool = False
    """The endpoint must be backoffice's (a replacement of SQLAdmin's own), not SQLAdmin's."""


def _m(*methods: str) -> frozenset[str]:
    return frozenset(methods)


ALLOWED: dict[str, Allowed] = {
    "statics": Allowed("/statics", None),
    "backoffice_static": Allowed("/_backoffice", None),
    "index": Allowed("/", _m("GET", "HEAD"), ours=True),  # the dashboard
    "list": Allowed("/{identity}/list", _m("GET", "HEAD")),
    "details": Allowed("/{identity}/details/{pk:path}", _m("GET", "HEAD")),
    "delete": Allowed("/{identity}/delete", _m("DELETE")),
    "create": Allowed("/{identity}/create", _m("GET", "HEAD", "POST")),
    "edit": Allowed("/{identity}/edit/{pk:path}", _m("GET", "HEAD", "POST")),
    # backoffice's streamed export, at SQLAdmin's address (export.py)
    "export": Allowed("/{identity}/export/{export_type}", _m("GET", "HEAD"), ours=True),
    "login": Allowed("/login", _m("GET", "HEAD", "POST")),
    "logout": Allowed("/logout", _m("POST")),
    "password_reset": Allowed("/password-reset", _m("GET", "HEAD", "POST"), ours=True),
    "password_reset_confirm": Allowed(
        "/password-reset/confirm", _m("GET", "HEAD", "POST"), ours=True
    ),
    "history": Allowed("/{identity}/history/{pk:path}", _m("GET", "HEAD"), ours=True),
    "set_password": Allowed(
        "/{identity}/set-password/{pk:path}", _m("GET", "HEAD", "POST"), ours=True
    ),
    "api_keys": Allowed("/api-keys", _m("GET", "HEAD", "POST"), ours=True),
    "api_keys_revoke": Allowed("/api-keys/revoke", _m("POST"), ours=True),
    "relation_choices": Allowed("/{identity}/choices/{field}", _m("GET", "HEAD"), ours=True),
    # second factors, passkeys and sessions (sign_in.py, security.py)
    "login_second_factor": Allowed("/login/second-factor", _m("GET", "HEAD", "POST"), ours=True),
    "login_second_factor_passkey_options": Allowed(
        "/login/second-factor/passkey-options", _m("POST"), ours=True
    ),
    "login_passkey_options": Allowed("/login/passkey-options", _m("POST"), ours=True),
    "login_passkey": Allowed("/login/passkey", _m("POST"), ours=True),
    "security": Allowed("/security", _m("GET", "HEAD"), ours=True),
    "security_action": Allowed("/security/{action}", _m("POST"), ours=True),
    "user_security": Allowed(
        "/{identity}/security/{pk:path}", _m("GET", "HEAD", "POST"), ours=True
    ),
    "list_edit": Allowed("/{identity}/list-edit", _m("POST"), ours=True),
    "revert": Allowed("/revert", _m("POST"), ours=True),
    "trash": Allowed("/{identity}/trash", _m("GET", "HEAD"), ours=True),
    "trash_restore": Allowed("/{identity}/trash/{pk}/restore", _m("POST"), ours=True),
    "trash_purge": Allowed("/{identity}/trash/{pk}/purge", _m("POST"), ours=True),
}
"""Route name -> what it must look like. Every other route of the admin is dropped."""

BULK = Allowed("/{identity}/bulk/{name}", _m("GET", "HEAD", "POST"), ours=True)
"""The bulk actions' page (``@expose`` in bulk.py), named ``view-{identity}-bulk``: every view
with bulk actions must serve it."""

ACTION = Allowed("/{identity}/action/{name}/{pk}", _m("POST"), ours=True)
"""A custom action's button on the details page (object_actions.py), named
``view-{identity}-action``: every view of a registered resource serves it."""

ADDRESS_ONLY: dict[str, str] = {
    "ajax_lookup": "/{identity}/ajax/lookup",  # no view uses form_ajax_refs
    "import": "/{identity}/import",  # CSV import is not offered
    "file_download": "/{identity}/{pk:path}/{column_name}/download/",
    "file_preview": "/{identity}/{pk:path}/{column_name}/preview/",
}
"""SQLAdmin routes that are not served; their names still build an address for templates."""


class AddressOnly(Route):
    """A route that ``url_for`` can name but that no request ever reaches."""

    def __init__(self, path: str, name: str) -> None:
        super().__init__(path, endpoint=_never, name=name, methods=["GET"])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return Match.NONE, {}


async def _never() -> None:  # pragma: no cover - never routed to
    raise AssertionError("an address-only route was reached")


def expected_names(admin: Admin) -> dict[str, Allowed]:
    """Every route name the admin serves, with the shape it must have."""
    expected = dict(ALLOWED)
    for view in admin.views:
        if isinstance(view, BulkActionView):
            path = BULK.path.replace("{identity}", view.identity)
            expected[f"view-{view.identity}-bulk"] = Allowed(path, BULK.methods, BULK.ours)
        if isinstance(view, ObjectActionView):
            path = ACTION.path.replace("{identity}", view.identity)
            expected[f"view-{view.identity}-action"] = Allowed(path, ACTION.methods, ACTION.ours)
    return expected


def restrict_routes(admin: Admin) -> None:
    """Keep the allowed routes, replace the address-only ones, drop the rest; raise
    ``RuntimeError`` if an allowed route is missing or not what it should be."""
    expected = expected_names(admin)
    kept: list[BaseRoute] = []
    seen: set[str] = set()
    for route in admin.admin.router.routes:
        name = getattr(route, "name", None)
        if not isinstance(name, str) or name in ADDRESS_ONLY:
            if name is None:
                logger.warning("an unnamed admin route (%r) is not served", route)
            continue
        allowed = expected.get(name)
        if allowed is None or name in seen:
            logger.warning("admin route %r (%s) is not served", name, getattr(route, "path", ""))
            continue
        _check(name, route, allowed)
        seen.add(name)
        kept.append(route)
    missing = sorted(set(expected) - seen)
    if missing:
        raise RuntimeError(f"the admin is missing the routes it must serve: {missing}")
    kept.extend(AddressOnly(path, name) for name, path in ADDRESS_ONLY.items())
    admin.admin.router.routes = kept


def _check(name: str, route: BaseRoute, allowed: Allowed) -> None:
    if allowed.methods is None:
        ok = isinstance(route, Mount) and route.path == allowed.path
    else:
        ok = (
            isinstance(route, Route)
            and route.path == allowed.path
            and frozenset(route.methods or ()) == allowed.methods
        )
        if ok and allowed.ours:
            assert isinstance(route, Route)
            module = getattr(route.endpoint, "__module__", "") or ""
            ok = module.startswith("backoffice.")
    if not ok:
        raise RuntimeError(
            f"the admin route {name!r} is not what backoffice serves: expected {allowed}, "
            f"found {route!r}"
        )
