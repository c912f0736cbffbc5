"""Shared fixtures: a real database (SQLite file, or PostgreSQL when BACKOFFICE_TEST_DATABASE_URL
is set), a real app, real HTTP through ASGI, real (cheap) password hashing."""

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings
from backoffice.models import ACTIONS, User, UserAccess, UserAdminCreate
from backoffice.services import Caller

TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEFAULT_PASSWORD = "Sup3rSecretPass"
POSTGRES_URL = os.environ.get("BACKOFFICE_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without BACKOFFICE_TEST_DATABASE_URL, tests marked ``postgres_only`` are deselected, not
    skipped: on SQLite they do not apply, so they are not reported as pending work either."""
    if POSTGRES_URL:
        return
    kept = [item for item in items if item.get_closest_marker("postgres_only") is None]
    deselected = [item for item in items if item.get_closest_marker("postgres_only") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def cheap_hashing() -> dict[str, int]:
    return {
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        "bcrypt_rounds": 4,
    }


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        env="development",
        **cheap_hashing(),
    )


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[BackOffice]:
    office = BackOffice(settings)
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    yield office
    await office.dispose()


@pytest.fixture
async def host_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The invoicing example: a host app with its own registered tables, on the test database."""
    from examples.invoicing.app import create_app  # its tables join the metadata here

    app = create_app(settings)
    host_office: BackOffice = app.state.backoffice
    async with host_office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    yield app
    async with host_office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
    await host_office.dispose()


@asynccontextmanager
async def serving(office: BackOffice) -> AsyncIterator[httpx2.AsyncClient]:
    """``office``'s standalone app on fresh tables (host models registered in it included),
    through an HTTP client; the tables are dropped afterwards, so a later run that does not
    import those models can still drop ``user``."""
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    transport = httpx2.ASGITransport(app=office.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
        await office.dispose()


@pytest.fixture
def app(office: BackOffice) -> FastAPI:
    return office.create_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class Account:
    user: User
    password: str

    @property
    def id(self) -> int:
        assert self.user.id is not None
        return self.user.id


async def make_user(
    office: BackOffice,
    username: str,
    *,
    password: str = DEFAULT_PASSWORD,
    email: str | None = None,
    **flags: bool,
) -> Account:
    data = UserAdminCreate(
        email=email or f"{username}@example.com", username=username, password=password, **flags
    )
    async with office.session() as session:
        user = await office.users(session, Caller.operator("system")).create(data)
    return Account(user, password)


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["type"] and body["title"] and body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return body


async def bearer(
    client: httpx2.AsyncClient, login: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = await client.post("/api/auth/login", data={"username": login, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def superuser(office: BackOffice) -> Account:
    return await make_user(office, "root", is_staff=True, is_superuser=True)


STAFF_PERMISSIONS = [
    *(f"{resource}.{action}" for resource in ("users", "posts") for action in ACTIONS),
    "audit.view",
]
"""What the ``staff`` fixture holds: everything about users and posts, and the audit log."""


async def grant(
    office: BackOffice, account: Account, permissions: list[str], groups: Sequence[str] = ()
) -> None:
    """Give ``account`` these permission codes directly (and these group memberships)."""
    async with office.session() as session:
        await office.permissions(session, Caller.operator("system")).set_access(
            account.id, UserAccess(permissions=permissions, groups=list(groups))
        )


@pytest.fixture
async def staff(office: BackOffice) -> Account:
    return await make_staff(office, "staffer")


@pytest.fixture
async def alice(office: BackOffice) -> Account:
    return await make_user(office, "alice")


@pytest.fixture
async def bob(office: BackOffice) -> Account:
    return await make_user(office, "bob")


async def make_staff(office: BackOffice, username: str, **flags: bool) -> Account:
    """A staff account holding ``STAFF_PERMISSIONS``."""
    account = await make_user(office, username, is_staff=True, **flags)
    await grant(office, account, STAFF_PERMISSIONS)
    return account


async def in_trash(office: BackOffice, model: type[SQLModel], pk: int) -> bool:
    """Is row ``pk`` kept in the trash (deleted, not purged)?"""
    async with office.session() as session:
        row = await session.get(model, pk)
        return row is not None and getattr(row, "deleted_at", None) is not None


async def purge(office: BackOffice, resource: str, pk: int) -> None:
    """Empty row ``pk`` of ``resource`` out of the trash, as the operator."""
    async with office.session() as session:
        await office.trash(resource, session, Caller.operator("system")).purge(pk)
