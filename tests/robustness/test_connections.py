"""How requests use database connections on PostgreSQL: reads in autocommit, writes in one
transaction, a pooled connection that died while idle replaced before use, the pool's size
from the settings."""

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest
from conftest import POSTGRES_URL, Account, bearer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import BackOffice, Settings
from backoffice.api.deps import SessionDep
from backoffice.db import create_engine
from robustness.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres_only


async def each_statement_commits(session: AsyncSession) -> bool:
    """The first statement takes a transaction id; in one transaction the second statement
    still holds it, in autocommit that transaction has already ended."""
    await session.scalar(text("SELECT pg_current_xact_id()"))
    return await session.scalar(text("SELECT pg_current_xact_id_if_assigned()")) is None


@pytest.fixture
async def probing_app(office: BackOffice) -> AsyncIterator[httpx2.AsyncClient]:
    """A host app with one route that reports, for GET and for POST, whether the request's
    session runs each statement in its own transaction."""
    app = FastAPI()
    office.mount(app)

    @app.api_route("/probe", methods=["GET", "POST"])
    async def probe(session: SessionDep) -> dict[str, bool]:
        return {"autocommit": await each_statement_commits(session)}

    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_read_runs_in_autocommit_and_a_write_in_one_transaction(
    probing_app: httpx2.AsyncClient,
) -> None:
    assert (await probing_app.get("/probe")).json() == {"autocommit": True}
    assert (await probing_app.post("/probe")).json() == {"autocommit": False}


async def test_the_session_makers_differ_only_in_transactions(office: BackOffice) -> None:
    async with office.read_session_maker() as session:
        assert await each_statement_commits(session)
    async with office.session_maker() as session:
        assert not await each_statement_commits(session)


async def test_a_read_request_sees_a_write_committed_by_another_request(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    changed = await client.patch(
        "/api/users/me", json={"full_name": "Alice Liddell"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    me = await client.get("/api/users/me", headers=headers)
    assert me.json()["full_name"] == "Alice Liddell"


def proxied_url(proxy: TcpProxy) -> str:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("ping_after_idle", "survives"),
    [(0.1, True), (3600.0, False)],
    ids=["checked after idling", "not checked"],
)
async def test_a_connection_that_died_while_idle_is_replaced_before_use(
    proxy: TcpProxy, ping_after_idle: float, survives: bool
) -> None:
    engine = create_engine(proxied_url(proxy), ping_after_idle=ping_after_idle)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
        # The server goes away and comes back while the pooled connection idles.
        await proxy.stop()
        await proxy.start()
        await asyncio.sleep(0.3)
        async with engine.connect() as connection:
            if survives:
                assert await connection.scalar(text("SELECT 2")) == 2
            else:
                with pytest.raises(DBAPIError):
                    await connection.scalar(text("SELECT 2"))
        # Either way the pool serves again afterwards.
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 3")) == 3
    finally:
        await engine.dispose()


def test_the_pool_follows_the_settings(settings: Settings) -> None:
    office = BackOffice(
        settings.model_copy(update={"database_pool_size": 7, "database_max_overflow": 2})
    )
    pool = office.engine.pool
    assert pool.size() == 7  # type: ignore[attr-defined]
    assert pool._max_overflow == 2  # type: ignore[attr-defined]
