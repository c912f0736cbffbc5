"""Every mounted route, every method, every kind of user: nothing answers 2xx that the table of
what each kind may do does not allow.

The routes are read from the app itself (the API's from ``app.routes``, the admin's from the
mounted admin app, its address-only routes included), so a route added later is walked too, and
one the tables (route_table.py) do not know fails the walk until someone says who may use it. Path
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
from starlette.routing import BaseRoute, Mount, Route

from backoffice import BackOffice
from backoffice.admin.bulk import BulkActionView
from backoffice.admin.routes import AddressOnly
from examples.invoicing import models as invoicing_models
from tests.admin.conftest import csrf_token
from tests.conftest import DEFAULT_PASSWORD, grant, make_user
from tests.permissions.conftest import new_client
from tests.security.route_table import (
    API,
    NOBODY,
    SEARCHED_RELATION,
    Actor,
    Need,
    admin_need,
)
from tests.security.walk_world import SECRET_FILE, World, admin_form, api_body, make_world

assert invoicing_models  # the host's tables join the metadata

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
KINDS = ("anonymous", "plain", "staff-one", "superuser")
ONE_PERMISSION = "users.view"
"""What the staff user of the walk holds: the reviewer's "staff with only users.view"."""


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
        template = _PARAM.sub(lambda m: "{" + m.group(1) + "}", context.path)  # no ":int"
        served.setdefault(template, set()).update(context.methods or ())
    probes = []
    for template, methods in served.items():
        for method in METHODS:
            need = API.get((method, template))
            if method in methods:
                assert need is not None, f"the walk does not know {method} {template}"
            elif need is None:
                need = NOBODY
            path = fill(template, lambda name, t=template: world.api_param(t, name))
            signs_out = template in ("/api/auth/logout", "/api/auth/sessions/end-others")
            last = 2 if signs_out else int(method == "DELETE")
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
                        "field": SEARCHED_RELATION.get(identity, "id"),
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
        # Reads first (the rows are as made), then writes, deletes, and the sign-outs last.
        for probe in sorted(probes, key=lambda p: (p.last, p.method not in ("GET", "HEAD"))):
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
