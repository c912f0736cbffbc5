"""The invoicing example (users, posts and groups built in; customers and invoices from the host
app), accounts of every kind, and a client per door: the API with a bearer token, the admin with
a session and its CSRF token."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.models import GroupCreate
from backoffice.services import Caller
from examples.invoicing import models as invoicing_models
from tests.admin.conftest import csrf_token, form_error
from tests.conftest import DEFAULT_PASSWORD, Account, grant, make_user

assert invoicing_models  # imported so the host's tables are in the metadata

# -- the app --------------------------------------------------------------------------------------


@pytest.fixture
def office(host_app: FastAPI) -> BackOffice:
    """The host's BackOffice (in place of the standalone one of the root conftest)."""
    return host_app.state.backoffice  # type: ignore[no-any-return]


@pytest.fixture
async def client(host_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with new_client(host_app) as client:
        yield client


def new_client(app: FastAPI) -> httpx2.AsyncClient:
    """A client of its own (its own cookies: one admin session per client)."""
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver")


# -- accounts of every kind -----------------------------------------------------------------------

KINDS = (
    "superuser",
    "staff-none",
    "staff-direct",
    "staff-group",
    "staff-all-but",
    "non-staff",
    "inactive-staff",
)
"""superuser; staff holding no permission; staff holding exactly the permission under test,
directly or through a group; staff holding every permission but that one; a non-staff account
and an inactive staff account that were both given it."""

HOLDERS = ("superuser", "staff-direct", "staff-group")
"""The kinds the permission model lets through."""


async def all_codes(office: BackOffice) -> set[str]:
    async with office.session() as session:
        service = office.permissions(session, Caller.operator("system"))
        return {f"{resource}.{action}" for resource, action, _ in service.catalogue}


async def make_group(office: BackOffice, name: str, permissions: list[str]) -> int:
    async with office.session() as session:
        service = office.groups(session, Caller.operator("system"))
        group = await service.create_group(GroupCreate(name=name, permissions=permissions))
    return group.id


async def make_actor(office: BackOffice, kind: str, code: str, username: str = "actor") -> Account:
    """An account of ``kind`` with respect to the permission ``code``."""
    assert kind in KINDS, kind
    if kind == "superuser":
        return await make_user(office, username, is_staff=True, is_superuser=True)
    account = await make_user(
        office, username, is_staff=kind != "non-staff", is_active=kind != "inactive-staff"
    )
    if kind == "staff-group":
        await make_group(office, f"holders of {code}", [code])
        await grant(office, account, [], groups=[f"holders of {code}"])
    elif kind == "staff-all-but":
        everything_else = await all_codes(office) - {code}
        assert everything_else and code in await all_codes(office)
        await grant(office, account, sorted(everything_else))
    elif kind != "staff-none":
        await grant(office, account, [code])
    return account


# -- the doors ------------------------------------------------------------------------------------


@dataclass
class Api:
    """The API door for one account; ``headers`` is empty when it could not sign in."""

    client: httpx2.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return bool(self.headers)

    async def sign_in(self, login: str, password: str = DEFAULT_PASSWORD) -> bool:
        response = await self.client.post(
            "/api/auth/login", data={"username": login, "password": password}
        )
        assert response.status_code in (200, 401), response.text
        if response.status_code == 200:
            self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self.signed_in

    async def request(self, method: str, path: str, **kwargs: object) -> httpx2.Response:
        return await self.client.request(method, path, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def refused(self, response: httpx2.Response) -> bool:
        """A refusal: 403 for a signed-in account, 401 for one that could not sign in."""
        if response.status_code not in (401, 403):
            return False
        assert response.headers["content-type"] == "application/problem+json", response.text
        # A signed-in account is never told to sign in again; one without a token always is.
        assert response.status_code == (403 if self.signed_in else 401), response.text
        return True


_LOGIN_PATH = "/admin/login"


@dataclass
class Admin:
    """The admin door for one account, as a browser drives it (forms echo the CSRF token)."""

    client: httpx2.AsyncClient
    signed_in: bool = False

    async def sign_in(self, login: str, password: str = DEFAULT_PASSWORD) -> bool:
        page = await self.client.get(_LOGIN_PATH)
        data = {"username": login, "password": password, "csrf_token": csrf_token(page.text)}
        response = await self.client.post(_LOGIN_PATH, data=data)
        assert response.status_code in (302, 400), response.text
        self.signed_in = response.status_code == 302
        return self.signed_in

    async def token(self) -> str:
        """The session's CSRF token (every admin page carries it; the login page always opens)."""
        page = await self.client.get(_LOGIN_PATH)
        assert page.status_code == 200, page.text
        return csrf_token(page.text)

    async def get(self, path: str) -> httpx2.Response:
        return await self.client.get(path)

    async def post_form(self, path: str, data: dict[str, str]) -> httpx2.Response:
        token = await self.token()
        return await self.client.post(path, data={**data, "csrf_token": token, "save": "Save"})

    async def delete(self, identity: str, pk: int) -> httpx2.Response:
        token = await self.token()
        return await self.client.delete(
            f"/admin/{identity}/delete", params={"pks": str(pk)}, headers={"X-CSRF-Token": token}
        )

    @staticmethod
    def refused(response: httpx2.Response) -> bool:
        """A refusal: 403, or sent to the login page (no admin session)."""
        if response.status_code == 403:
            return True
        location = response.headers.get("location", "")
        return response.status_code == 302 and urlsplit(location).path == _LOGIN_PATH

    @staticmethod
    def saved(response: httpx2.Response) -> bool:
        """A form accepted: redirected onwards, not to the login page."""
        location = response.headers.get("location", "")
        return response.status_code == 302 and urlsplit(location).path != _LOGIN_PATH

    @staticmethod
    def describe(response: httpx2.Response) -> str:
        error = form_error(response.text) or _delete_error(response.text)
        return f"{response.status_code} {error or response.text[:300]!r}"


def _delete_error(text: str) -> str | None:
    """SQLAdmin answers a failed delete with 200 and the list address, the error in its query."""
    match = re.search(r"[?&]error=([^&]*)", text)
    return match.group(1) if match else None
