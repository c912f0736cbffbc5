"""The admin serves only the routes backoffice lists (backoffice/admin/routes.py)."""

from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from starlette.routing import Mount, Route

from backoffice import BackOffice
from backoffice.admin import setup_admin
from backoffice.admin.routes import ADDRESS_ONLY, AddressOnly, restrict_routes
from tests.admin.conftest import AdminBrowser
from tests.conftest import bearer, grant, make_user

EXPECTED = {
    ("statics", "/statics", None),
    ("backoffice_static", "/_backoffice", None),
    ("index", "/", "GET,HEAD"),
    ("list", "/{identity}/list", "GET,HEAD"),
    ("details", "/{identity}/details/{pk:path}", "GET,HEAD"),
    ("delete", "/{identity}/delete", "DELETE"),
    ("create", "/{identity}/create", "GET,HEAD,POST"),
    ("edit", "/{identity}/edit/{pk:path}", "GET,HEAD,POST"),
    ("export", "/{identity}/export/{export_type}", "GET,HEAD"),
    ("login", "/login", "GET,HEAD,POST"),
    ("logout", "/logout", "POST"),
    ("password_reset", "/password-reset", "GET,HEAD,POST"),
    ("password_reset_confirm", "/password-reset/confirm", "GET,HEAD,POST"),
    ("history", "/{identity}/history/{pk:path}", "GET,HEAD"),
    ("set_password", "/{identity}/set-password/{pk:path}", "GET,HEAD,POST"),
    ("relation_choices", "/{identity}/choices/{field}", "GET,HEAD"),
    ("api_keys", "/api-keys", "GET,HEAD,POST"),
    ("api_keys_revoke", "/api-keys/revoke", "POST"),
    ("login_second_factor", "/login/second-factor", "GET,HEAD,POST"),
    ("login_second_factor_passkey_options", "/login/second-factor/passkey-options", "POST"),
    ("login_passkey_options", "/login/passkey-options", "POST"),
    ("login_passkey", "/login/passkey", "POST"),
    ("security", "/security", "GET,HEAD"),
    ("security_action", "/security/{action}", "POST"),
    ("user_security", "/{identity}/security/{pk:path}", "GET,HEAD,POST"),
    ("list_edit", "/{identity}/list-edit", "POST"),
    ("revert", "/revert", "POST"),
    ("trash", "/{identity}/trash", "GET,HEAD"),
    ("trash_restore", "/{identity}/trash/{pk}/restore", "POST"),
    ("trash_purge", "/{identity}/trash/{pk}/purge", "POST"),
    *(
        (f"view-{identity}-bulk", f"/{identity}/bulk/{{name}}", "GET,HEAD,POST")
        for identity in ("user", "post", "group")
    ),
}
"""Every route the standalone admin serves: name, path, methods (None for static mounts)."""


def admin_of(app: FastAPI) -> Mount:
    mounts = [r for r in app.routes if isinstance(r, Mount) and r.name == "admin"]
    assert len(mounts) == 1
    return mounts[0]


def test_the_admin_serves_exactly_the_listed_routes(app: FastAPI) -> None:
    served = set()
    for route in admin_of(app).routes:
        if isinstance(route, AddressOnly):
            assert route.name in ADDRESS_ONLY
            continue
        assert isinstance(route, Route | Mount), route
        methods = ",".join(sorted(route.methods)) if isinstance(route, Route) else None
        served.add((route.name, route.path, methods))
    assert served == EXPECTED


def test_address_only_routes_name_an_address_but_match_nothing(app: FastAPI) -> None:
    names = {r.name for r in admin_of(app).routes if isinstance(r, AddressOnly)}
    assert names == {"ajax_lookup", "import", "file_download", "file_preview"}
    path = app.url_path_for("admin:ajax_lookup", identity="user")
    assert path == "/admin/user/ajax/lookup"


def test_restricting_twice_changes_nothing(office: BackOffice) -> None:
    admin = setup_admin(office, FastAPI())
    before = list(admin.admin.router.routes)
    restrict_routes(admin)
    assert [(r.name, type(r)) for r in admin.admin.router.routes] == [
        (r.name, type(r)) for r in before
    ]


def test_a_missing_allowed_route_stops_the_start(office: BackOffice) -> None:
    """An upgrade of SQLAdmin that drops or renames a route is noticed at start-up."""
    admin = setup_admin(office, FastAPI())
    admin.admin.router.routes = [r for r in admin.admin.router.routes if r.name != "list"]
    with pytest.raises(RuntimeError, match=r"missing .*'list'"):
        restrict_routes(admin)


def test_a_changed_route_stops_the_start(office: BackOffice) -> None:
    admin = setup_admin(office, FastAPI())
    routes = admin.admin.router.routes
    index = next(i for i, r in enumerate(routes) if r.name == "logout")
    routes[index] = Route("/logout", endpoint=admin.logout, name="logout", methods=["GET"])
    with pytest.raises(RuntimeError, match="'logout' is not what backoffice serves"):
        restrict_routes(admin)


def test_sqladmins_own_export_stops_the_start(office: BackOffice) -> None:
    """The export address must stay backoffice's streamed export, never SQLAdmin's."""
    admin = setup_admin(office, FastAPI())
    routes = admin.admin.router.routes
    index = next(i for i, r in enumerate(routes) if r.name == "export")
    routes[index] = Route("/{identity}/export/{export_type}", endpoint=admin.export, name="export")
    with pytest.raises(RuntimeError, match="'export'"):
        restrict_routes(admin)


def test_an_unlisted_route_is_dropped(office: BackOffice) -> None:
    admin = setup_admin(office, FastAPI())
    admin.admin.router.routes.append(Route("/extra", endpoint=admin.login, name="extra"))
    restrict_routes(admin)
    assert "extra" not in {r.name for r in admin.admin.router.routes}


@pytest.mark.parametrize("kind", ["download", "preview"])
@pytest.mark.parametrize(("identity", "column"), [("user", "full_name"), ("post", "title")])
async def test_a_column_naming_a_file_never_serves_it(
    kind: str,
    identity: str,
    column: str,
    office: BackOffice,
    client: httpx2.AsyncClient,
    browser: AdminBrowser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A staff user who may only view users names a file in the server's working directory
    as their own full name (or a post's title): the admin's file routes are not served."""
    secret = tmp_path / "secret.env"
    secret.write_text("BACKOFFICE_SECRET_KEY=do-not-leak\n")
    monkeypatch.chdir(tmp_path)
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["users.view", "posts.view"])
    headers = await bearer(client, "viewer")
    if identity == "user":
        response = await client.patch(
            "/api/users/me", json={"full_name": "secret.env"}, headers=headers
        )
        pk = viewer.id
    else:
        response = await client.post(
            "/api/posts/", json={"title": "secret.env", "body": "x"}, headers=headers
        )
        pk = response.json()["id"] if response.status_code == 201 else 0
    assert response.status_code in (200, 201), response.text
    assert (await browser.login("viewer")).status_code == 302

    response = await client.get(f"/admin/{identity}/{pk}/{column}/{kind}/")
    assert response.status_code == 404
    assert "do-not-leak" not in response.text
    # The details page still opens (its templates name no file route).
    details = await client.get(f"/admin/{identity}/details/{pk}")
    assert details.status_code == 200, details.text
