"""A large export is streamed: served by a real uvicorn, it arrives in chunks as the rows are
read (chunked transfer, no Content-Length), every row present."""

import csv
import io
from collections.abc import AsyncIterator

import httpx2
import pytest

from backoffice import BackOffice
from backoffice.admin.export import BATCH_SIZE
from backoffice.models import User
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account
from tests.servers import ServerThread

ROWS = 3_000
FAKE_HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$ZmFrZWZha2VmYWtlZmFrZQ"


@pytest.fixture
async def server_url(office: BackOffice, superuser: Account) -> AsyncIterator[str]:
    """The office's database with ``ROWS`` more users, served by uvicorn in a thread."""
    async with office.session() as session:
        session.add_all(
            User(
                email=f"bulk{n:05}@example.com",
                username=f"bulk{n:05}",
                full_name=f"=Bulk {n}" if n % 2 else None,
                hashed_password=FAKE_HASH,
            )
            for n in range(ROWS)
        )
    server = ServerThread(BackOffice(office.settings).create_app())
    await server.start_async()
    yield server.url
    await server.stop_async()


@pytest.fixture
async def live_admin(server_url: str) -> AsyncIterator[AdminBrowser]:
    async with httpx2.AsyncClient(base_url=server_url, timeout=60) as client:
        browser = AdminBrowser(client)
        assert (await browser.login("root")).status_code == 302
        yield browser


async def test_a_large_csv_export_arrives_in_chunks_with_every_row(
    live_admin: AdminBrowser,
) -> None:
    assert ROWS > 2 * BATCH_SIZE
    chunks: list[bytes] = []
    async with live_admin.client.stream(
        "GET", "/admin/user/export/csv", headers={"Accept-Encoding": "identity"}
    ) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
    assert len(chunks) > 1
    text = b"".join(chunks).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == ROWS + 1  # and root
    assert {row["full_name"] for row in rows if row["username"] == "bulk00001"} == {"'=Bulk 1"}
    assert FAKE_HASH not in text and "hashed_password" not in text


async def test_a_large_json_export_is_one_valid_array(live_admin: AdminBrowser) -> None:
    chunks = 0
    body = b""
    async with live_admin.client.stream(
        "GET", "/admin/user/export/json", params={"search": "bulk"}
    ) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            chunks += 1
            body += chunk
    assert chunks > 1
    items = httpx2.Response(200, content=body).json()
    assert len(items) == ROWS
    assert items[0]["username"] == "bulk00000" and items[-1]["username"] == f"bulk{ROWS - 1:05}"
    assert FAKE_HASH.encode() not in body
