"""A real uvicorn server on a free port and Debian's Chromium driven by Playwright."""

import asyncio
import os
import shutil
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings
from backoffice.models import UserAccess, UserAdminCreate
from backoffice.services import Caller
from tests.conftest import DEFAULT_PASSWORD, POSTGRES_URL, TEST_SECRET_KEY, cheap_hashing
from tests.servers import ServerThread, free_port

CHROMIUM = os.environ.get("BACKOFFICE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


async def _prepare(settings: Settings) -> None:
    office = BackOffice(settings)
    try:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
            await connection.run_sync(SQLModel.metadata.create_all)
        async with office.session() as session:
            users = office.users(session, Caller.operator("system"))
            await users.create(
                UserAdminCreate(
                    email="root@example.com",
                    username="root",
                    password=DEFAULT_PASSWORD,
                    is_staff=True,
                    is_superuser=True,
                )
            )
            await users.create(
                UserAdminCreate(
                    email="plain@example.com", username="plain", password=DEFAULT_PASSWORD
                )
            )
            viewer = await users.create(
                UserAdminCreate(
                    email="viewer@example.com",
                    username="viewer",
                    password=DEFAULT_PASSWORD,
                    is_staff=True,
                )
            )
            assert viewer.id is not None
            # Staff who may look at users but not change them.
            await office.permissions(session, Caller.operator("system")).set_access(
                viewer.id, UserAccess(permissions=["users.view"])
            )
    finally:
        await office.dispose()


def _run_in_own_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    # Playwright's sync API keeps an event loop in this thread; asyncio.run needs its own.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def live_settings(tmp_path: Path, name: str, **options: Any) -> tuple[int, Settings]:
    """A free port and the settings of a server on it: the test database (a SQLite file
    ``name``.db, or PostgreSQL), links on the server's own address, cheap hashing."""
    port = free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=POSTGRES_URL or f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}",
        secret_key=TEST_SECRET_KEY,
        base_url=f"http://127.0.0.1:{port}",
        **cheap_hashing(),
        **options,
    )
    return port, settings


def _serve(tmp_path: Path, **options: Any) -> Iterator[str]:
    """Prepare a database and run backoffice under a real uvicorn; yields its base URL."""
    port, settings = live_settings(tmp_path, "browser", **options)
    base_url = settings.base_url
    _run_in_own_thread(_prepare(settings))
    server = ServerThread(BackOffice(settings).create_app(), port=port, timeout=20)
    server.start()
    yield base_url
    server.stop()


def _page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API holds an event loop in the main thread
    # while it runs, and async tests collected after the browser tests need that thread free.
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    yield from _page(browser, live_server)


# -- a live server that sends mail to a real local SMTP server -------------------------------

from tests.smtp import MailServer, running_mail_server  # noqa: E402


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) for this test."""
    yield from running_mail_server()


@pytest.fixture
def mailing_live_server(tmp_path: Path, mail_server: MailServer) -> Iterator[str]:
    """Like ``live_server``, with mail going to ``mail_server`` and links on its own address."""
    yield from _serve(tmp_path, **mail_server.settings())


@pytest.fixture
def mailing_page(browser: Browser, mailing_live_server: str) -> Iterator[Page]:
    yield from _page(browser, mailing_live_server)
