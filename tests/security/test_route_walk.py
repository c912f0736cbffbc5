"""Every mounted route, every method, every kind of user: nothing answers 2xx that the table of
what each kind may do does not allow.

The routes are read from the app itself (the API's from ``app.routes``, the admin's from the
mounted admin app, its address-only routes included), so a route added later is walked too, and
one the tables below do not know fails the walk until someone says who may use it. Path
parameters are filled with real rows that belong to someone else (a user, another writer's
draft, a group, a customer, an invoice, an audit entry), a request to the admin carries the
session's CSRF token, and writes carry a valid body where the table names one: what decides is
the permission, not a missing token or a malformed body.

A success is a 2xx; for a method other than GET and HEAD, also a redirect anywhere but the login
page (the admin's "saved"); SQLAdmin's DELETE reports a refusal as 200 with ``error=`` in the
body, which is not a success. No request may answer 5xx.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlmodel import col, select
from starlette.routing import BaseRoute, Mount, Route

from backoffice import BackOffice
from backoffice.admin.bulk import BulkActionView
from backoffice.admin.routes import AddressOnly
from backoffice.models import AuditEntry, GroupCreate, PostCreate, UserUpdate
from backoffice.services import Caller
from examples.invoicing import models as invoicing_models
from tests.admin.conftest import csrf_token
from tests.conftest import DEFAULT_PASSWORD, Account, grant, make_user
from tests.permissions.conftest import new_client

assert invoicing_models  # the host's tables join the metadata

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
KINDS = ("anonymous", "plain", "staff-one", "superuser")
ONE_PERMISSION = "users.view"
"""What the staff user of the walk holds: the reviewer's "staff with only users.view"."""
NEW_PASSWORD = "A-Fresh-Passw0rd-42"
SECRET_FILE = "walk-secret.env"


# -- who may do what -------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """``public``: anyone; ``signed_in``: any active account; ``staff``: an admin session;
    ``all``/``any``: staff holding all/any of ``codes`` (a superuser holds every code);
    ``nobody``: not served at all, not even to a superuser."""

    rule: str
    codes: frozenset[str] = frozenset()


PUBLIC, SIGNED_IN, STAFF, NOBODY = Need("public"), Need("signed_in"), Need("staff"), Need("nobody")


def perm(*codes: str) -> Need:
    return Need("all", frozenset(codes))


def any_of(*codes: str) -> Need:
    return Need("any", frozenset(codes))


@dataclass
class Actor:
    kind: str
    account: Account | None
    permissions: frozenset[str]

    def may(self, need: Need) -> bool:
        if need.rule in ("public", "nobody"):
            return need.rule == "public"
        if self.kind == "anonymous":
            return False
        if need.rule == "signed_in":
            return True
        if self.kind == "plain":
            return False  # holds nothing, and the admin is for staff
        if need.rule == "staff" or self.kind == "superuser":
            return True
        held = need.codes & self.permissions
        return held == need.codes if need.rule == "all" else bool(held)


API: dict[tuple[str, str], Need] = {
    **{("GET", path): PUBLIC for path in ("/", "/health", "/ready")},
    **{
        (method, f"{prefix}{path}"): PUBLIC
        for prefix in ("", "/api")
        for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for method in ("GET", "HEAD")
    },
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("POST", "/api/auth/password-reset"): PUBLIC,
    ("POST", "/api/auth/password-reset/confirm"): PUBLIC,
    ("GET", "/api/audit/"): perm("audit.view"),
    ("POST", "/api/users/"): PUBLIC,  # registration of an ordinary account
    ("GET", "/api/users/"): perm("users.view"),
    ("GET", "/api/users/me"): SIGNED_IN,
    ("PATCH", "/api/users/me"): SIGNED_IN,
    ("POST", "/api/users/me/password"): SIGNED_IN,
    ("GET", "/api/users/me/access"): SIGNED_IN,
    ("GET", "/api/users/{user_id}"): perm("users.view"),
    ("PATCH", "/api/users/{user_id}"): perm("users.change"),
    ("DELETE", "/api/users/{user_id}"): perm("users.delete"),
    ("GET", "/api/users/{user_id}/access"): perm("users.view"),
    ("PUT", "/api/users/{user_id}/access"): perm("users.change"),
    ("GET", "/api/posts/"): SIGNED_IN,  # published posts and one's own
    ("POST", "/api/posts/"): SIGNED_IN,  # one's own posts
    ("GET", "/api/posts/{post_id}"): perm("posts.view"),  # the target is another's draft
    ("PATCH", "/api/posts/{post_id}"): perm("posts.change"),
    ("DELETE", "/api/posts/{post_id}"): perm("posts.delete"),
    ("GET", "/api/permissions/"): any_of("groups.view", "users.change"),
    ("GET", "/api/groups/"): perm("groups.view"),
    ("POST", "/api/groups/"): perm("groups.add"),
    ("GET", "/api/groups/{group_id}"): perm("groups.view"),
    ("PATCH", "/api/groups/{group_id}"): perm("groups.change"),
    ("DELETE", "/api/groups/{group_id}"): perm("groups.delete"),
    **{
        (method, path.format(name=name)): perm(f"{name}.{action}")
        for name in ("customers", "invoices")
        for method, path, action in (
            ("GET", "/api/{name}/", "view"),
            ("POST", "/api/{name}/", "add"),
            ("GET", "/api/{name}/{{item_id}}", "view"),
            ("PATCH", "/api/{name}/{{item_id}}", "change"),
            ("DELETE", "/api/{name}/{{item_id}}", "delete"),
        )
    },
}
"""(method, path template) -> who may use it, for every route of the API and the app."""

RESOURCE = {"user": "users", "post": "posts", "group": "groups", "customer": "customers"}
RESOURCE |= {"invoice": "invoices", "audit-entry": "audit"}


def admin_need(name: str, method: str, identity: str | None, bulk: str | None) -> Need:
    """Who may use the admin route ``name`` with ``method`` on the view ``identity``."""
    reading = method in ("GET", "HEAD")
    if name in ("statics", "backoffice_static"):
        return PUBLIC if reading else NOBODY
    if name in ("login", "password_reset", "password_reset_confirm"):
        return PUBLIC if method in ("GET", "HEAD", "POST") else NOBODY
    if name == "logout":
        return STAFF if method == "POST" else NOBODY
    if name == "index":
        return STAFF if reading else NOBODY
    if identity is None:
        return NOBODY  # an address-only route: not served
    resource = RESOURCE[identity]
    view = f"{resource}.view"
    if identity == "audit-entry" and name not in ("list", "details", "export"):
        return NOBODY  # the audit log is read-only
    if name in ("list", "details", "export"):
        return perm(view) if reading else NOBODY
    if name == "history":
        return perm(view, "audit.view") if reading else NOBODY
    if name in ("create", "edit"):
        action = "add" if name == "create" else "change"
        return perm(f"{resource}.{action}") if method in ("GET", "HEAD", "POST") else NOBODY
    if name == "delete":
        return perm(f"{resource}.delete") if method == "DELETE" else NOBODY
    if name == "set_password":
        ok = identity == "user" and method in ("GET", "HEAD", "POST")
        return perm("users.change") if ok else NOBODY
    if name.startswith("view-") and name.endswith("-bulk") and bulk is not None:
        action = BULK_PERMISSION[bulk]
        return perm(f"{resource}.{action}") if method in ("GET", "HEAD", "POST") else NOBODY
    raise AssertionError(f"the walk does not know the admin route {name!r}: say who may use it")


BULK_PERMISSION = {
    "delete_selected": "delete",
    "activate_selected": "change",
    "deactivate_selected": "change",
}


# -- the rows the walk points at -----------------------------------------------------------------


@dataclass
class World:
    """Rows that belong to someone else, made afresh for each kind of user."""

    tag: str
    ids: dict[str, int] = field(default_factory=dict)
    """identity -> primary key."""

    def api_param(self, template: str, name: str) -> str:
        if name == "item_id":
            return str(self.ids["customer" if "/customers/" in template else "invoice"])
        return str(self.ids[{"user_id": "user", "post_id": "post", "group_id": "group"}[name]])


async def make_world(office: BackOffice, tag: str) -> World:
    """The target user's full name and the draft's title name a file in the working
    directory: SQLAdmin's file routes would serve it (see tests/admin/test_routes.py)."""
    world = World(tag)
    system = Caller.operator("system")
    target = await make_user(office, f"target{tag}")
    writer = await make_user(office, f"writer{tag}")
    world.ids["user"] = target.id
    async with office.session() as session:
        await office.users(session, system).update(target.id, UserUpdate(full_name=SECRET_FILE))
        post = await office.posts(session, system).create(
            PostCreate(title=SECRET_FILE, body="Someone else's words.", published=False),
            author_id=writer.id,
        )
        group = await office.groups(session, system).create_group(GroupCreate(name=f"G {tag}"))
        assert post.id is not None
        world.ids |= {"post": post.id, "group": group.id}
        if "invoices" in {resource.name for resource in office.registry}:
            customer = await office.service("customers", session, system).create(
                {"name": f"Customer {tag}"}
            )
            invoice = await office.service("invoices", session, system).create(
                {"number": f"INV-{tag}", "customer_id": customer.id, "amount_cents": 1000}
            )
            world.ids |= {"customer": customer.id, "invoice": invoice.id}
    async with office.session() as session:
        newest = select(AuditEntry).order_by(col(AuditEntry.id).desc())
        last = (await session.exec(newest)).first()
    assert last is not None and last.id is not None
    world.ids["audit-entry"] = last.id
    return world


def api_body(method: str, template: str, world: World, actor: Actor) -> dict[str, Any]:
    """A valid body for the writes the API offers (so the permission decides), else none."""
    tag = world.tag
    login = actor.account.user.username if actor.account else "nobody"
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/auth/login"): {"data": {"username": login, "password": DEFAULT_PASSWORD}},
        ("POST", "/api/auth/refresh"): {"json": {"refresh_token": "not-a-token"}},
        ("POST", "/api/auth/password-reset"): {"json": {"email": "nobody@example.com"}},
        ("POST", "/api/auth/password-reset/confirm"): {
            "json": {"token": "not-a-token", "new_password": NEW_PASSWORD}
        },
        ("POST", "/api/users/"): {
            "json": {
                "email": f"reg{tag}@example.com",
                "username": f"reg{tag}",
                "password": NEW_PASSWORD,
            }
        },
        ("PATCH", "/api/users/me"): {"json": {"full_name": "Walked"}},
        ("POST", "/api/users/me/password"): {
            "json": {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
        },
        ("PATCH", "/api/users/{user_id}"): {"json": {"full_name": "Changed"}},
        ("PUT", "/api/users/{user_id}/access"): {"json": {"permissions": [], "groups": []}},
        ("POST", "/api/posts/"): {"json": {"title": f"Mine {tag}", "body": "Mine."}},
        ("PATCH", "/api/posts/{post_id}"): {"json": {"title": "Changed"}},
        ("POST", "/api/groups/"): {"json": {"name": f"New group {tag}", "permissions": []}},
        ("PATCH", "/api/groups/{group_id}"): {"json": {"name": f"Renamed {tag}"}},
        ("POST", "/api/customers/"): {"json": {"name": f"New customer {tag}"}},
        ("PATCH", "/api/customers/{item_id}"): {"json": {"name": "Changed"}},
        ("POST", "/api/invoices/"): {
            "json": {
                "number": f"NEW-{tag}",
                "customer_id": world.ids.get("customer", 0),
                "amount_cents": 500,
            }
        },
        ("PATCH", "/api/invoices/{item_id}"): {"json": {"amount_cents": 4321}},
    }
    return bodies.get((method, template), {})


def admin_form(name: str, identity: str | None, world: World) -> dict[str, str]:
    """A valid form for the admin's create, edit, set-password and bulk pages."""
    tag = world.tag
    pk = str(world.ids.get(identity or "", 0))
    if name == "set_password":
        return {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    if name.endswith("-bulk"):
        return {"pks": pk}
    if name == "login":
        return {"username": "nobody", "password": "not-a-password"}
    if name == "password_reset":
        return {"email": "nobody@example.com"}
    forms = {
        "user": {
            "email": f"adm{tag}@example.com",
            "username": f"adm{tag}",
            "password": NEW_PASSWORD,
            "full_name": "Changed",
            "is_active": "y",
        },
        "post": {"title": "Changed", "body": "Words.", "published": "y"},
        "group": {"name": f"Admin group {tag}"},
        "customer": {"name": "Changed"},
        "invoice": {
            "number": f"ADM-{tag}",
            "customer": str(world.ids.get("customer", 0)),
            "amount_cents": "4321",
            "status": "draft",
        },
    }
    form = dict(forms.get(identity or "", {}))
    if name == "edit" and identity == "user":
        form |= {"email": f"target{tag}@example.com", "username": f"target{tag}"}
        form.pop("password")
    if name == "edit" and identity == "invoice":
        form["number"] = f"INV-{tag}"
    if name == "edit" and identity == "group":
        form["name"] = f"Renamed in the admin {tag}"
    return form


# -- the probes ----------------------------------------------------------------------------------


@dataclass
class Probe:
    door: str
    method: str
    path: str
    need: Need
    what: str
    """The route as the table names it, for the report."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    last: int = 0
    """0: in any order; 1: destroys the target (deletes); 2: ends the session."""


_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def fill(template: str, values: Callable[[str], str]) -> str:
    return _PARAM.sub(lambda m: values(m.group(1)), template)


def api_probes(app: FastAPI, world: World, actor: Actor) -> list[Probe]:
    served: dict[str, set[str]] = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            continue
        served.setdefault(context.path, set()).update(context.methods or ())
    probes = []
    for template, methods in served.items():
        for method in METHODS:
            need = API.get((method, template))
            if method in methods:
                assert need is not None, f"the walk does not know {method} {template}"
            elif need is None:
                need = NOBODY
            path = fill(template, lambda name, t=template: world.api_param(t, name))
            last = 2 if template == "/api/auth/logout" else int(method == "DELETE")
            kwargs = api_body(method, template, world, actor)
            probes.append(Probe("api", method, path, need, f"{method} {template}", kwargs, last))
    return probes


def admin_of(app: FastAPI) -> tuple[str, list[BaseRoute]]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.name == "admin")
    return mount.path, list(mount.routes)


def admin_probes(app: FastAPI, office: BackOffice, world: World) -> list[Probe]:
    base, routes = admin_of(app)
    views = {view.identity: view for view in office_admin_views(app)}
    probes = []
    for route in routes:
        name = route.name  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            files = {"statics": "/css/tabler.min.css", "backoffice_static": "/admin/csrf.js"}
            targets = [(f"{base}{route.path}{files[name]}", None, None)]
        else:
            assert isinstance(route, Route)
            targets = []
            for identity, view in views.items():
                if "{identity}" not in route.path and f"/{identity}/" not in route.path + "/":
                    continue
                bulks: list[str | None] = [None]
                if "{name}" in route.path:
                    assert isinstance(view, BulkActionView)
                    bulks = list(view.bulk_actions())
                for bulk in bulks:
                    values = {
                        "identity": identity,
                        "pk": str(world.ids[identity]),
                        "export_type": "csv",
                        "column_name": {"user": "full_name", "post": "title"}.get(identity, "id"),
                        "name": bulk or "",
                    }
                    targets.append(
                        (f"{base}{fill(route.path, values.__getitem__)}", identity, bulk)
                    )
            if not targets:
                targets = [(f"{base}{route.path}", None, None)]
        for path, identity, bulk in targets:
            if route.name == "delete" or bulk is not None:  # type: ignore[attr-defined]
                path = f"{path}?pks={world.ids[identity or '']}"
            for method in METHODS:
                if isinstance(route, AddressOnly):
                    need = NOBODY
                else:
                    need = admin_need(name, method, identity, bulk)
                form = admin_form(name, identity, world)
                destroys = method == "DELETE" or bulk == "delete_selected"
                last = 2 if name == "logout" else int(destroys)
                what = f"{method} admin:{name} {identity or ''} {bulk or ''}".strip()
                probes.append(Probe("admin", method, path, need, what, {"form": form}, last))
    return probes


def office_admin_views(app: FastAPI) -> list[Any]:
    """The admin's model views."""
    return [v for v in app.state.backoffice_admin.views if getattr(v, "is_model", False)]


# -- walking -------------------------------------------------------------------------------------


async def make_actor(office: BackOffice, kind: str) -> Actor:
    if kind == "anonymous":
        return Actor(kind, None, frozenset())
    username = kind.replace("-", "")
    if kind == "superuser":
        account = await make_user(office, username, is_staff=True, is_superuser=True)
        return Actor(kind, account, frozenset())
    account = await make_user(office, username, is_staff=kind == "staff-one")
    held = [ONE_PERMISSION] if kind == "staff-one" else []
    await grant(office, account, held)
    return Actor(kind, account, frozenset(held))


def succeeded(probe: Probe, response: httpx2.Response) -> bool:
    if 200 <= response.status_code < 300:
        # SQLAdmin reports a refused delete as 200 with "error=" in the body.
        return not (
            probe.door == "admin" and probe.method == "DELETE" and "error=" in response.text
        )
    if 300 <= response.status_code < 400 and probe.method not in ("GET", "HEAD"):
        return urlsplit(response.headers.get("location", "")).path != "/admin/login"
    return False


async def walk(app: FastAPI, office: BackOffice, kind: str) -> list[str]:
    """Every probe as ``kind``; returns what went wrong."""
    actor = await make_actor(office, kind)
    # One set of rows per door: a delete through one leaves the other's to delete.
    tag = kind.replace("-", "")
    api_world, admin_world = await make_world(office, f"{tag}api"), await make_world(office, tag)
    problems = []
    async with new_client(app) as api_client, new_client(app) as admin_client:
        headers: dict[str, str] = {}
        if actor.account is not None:
            login = {"username": actor.account.user.username, "password": DEFAULT_PASSWORD}
            response = await api_client.post("/api/auth/login", data=login)
            assert response.status_code == 200, response.text
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            page = await admin_client.get("/admin/login")
            response = await admin_client.post(
                "/admin/login", data={**login, "csrf_token": csrf_token(page.text)}
            )
            assert (response.status_code == 302) == (kind in ("staff-one", "superuser"))
        token = csrf_token((await admin_client.get("/admin/login")).text)
        probes = api_probes(app, api_world, actor) + admin_probes(app, office, admin_world)
        for probe in sorted(probes, key=lambda p: p.last):
            if probe.door == "api":
                response = await api_client.request(
                    probe.method, probe.path, headers=headers, **probe.kwargs
                )
            else:
                form = {**probe.kwargs["form"], "csrf_token": token, "save": "Save"}
                data = form if probe.method not in ("GET", "DELETE", "OPTIONS") else None
                response = await admin_client.request(
                    probe.method, probe.path, data=data, headers={"X-CSRF-Token": token}
                )

            if response.status_code >= 500:
                problems.append(f"{kind}: {probe.what} -> {response.status_code}")
            elif succeeded(probe, response) and not actor.may(probe.need):
                problems.append(
                    f"{kind}: {probe.what} ({probe.path}) answered {response.status_code}, "
                    f"but needs {probe.need.rule} {sorted(probe.need.codes)}"
                )
    return problems


@pytest.fixture(params=["host", "standalone"])
def walked_app(request: pytest.FixtureRequest) -> FastAPI:
    """The invoicing example (host tables, docs at the root) and the standalone app (its
    /health, /ready and docs under /api)."""
    name = "host_app" if request.param == "host" else "app"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", KINDS)
async def test_no_route_answers_what_the_table_does_not_allow(
    kind: str, walked_app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / SECRET_FILE).write_text("BACKOFFICE_SECRET_KEY=do-not-leak\n")
    monkeypatch.chdir(tmp_path)
    office: BackOffice = walked_app.state.backoffice
    problems = await walk(walked_app, office, kind)
    assert not problems, "\n".join(problems)
