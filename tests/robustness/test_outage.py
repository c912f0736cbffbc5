"""The database goes away while requests flow, and comes back.

A real uvicorn server (in a thread) reaches PostgreSQL through a TCP proxy the test controls:
cutting the proxy is the outage (connections refused, open ones reset), restoring it is the
restart. The shared PostgreSQL server itself is never stopped. During the outage the API answers
503 problems with Retry-After at once (no hang, no traceback), /ready 503 and /health 200; once
the database is back the same process serves again, without a restart.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, make_user
from sqlalchemy.engine import make_url

from backoffice import BackOffice, Settings
from robustness.tcp_proxy import TcpProxy
from tests.servers import ServerThread

pytestmark = pytest.mark.postgres_only

# Bounds on waiting, not performance thresholds: generous, and only there so that a hang fails
# the test instead of stalling the run.
REQUEST_TIMEOUT = 20.0
SETTLE_DEADLINE = 30.0


@dataclass
class Answer:
    phase: str
    method: str
    status: int
    content_type: str
    retry_after: str | None
    body: str


@dataclass
class Traffic:
    """Requests sent one after another for as long as the test runs, each answer recorded."""

    client: httpx2.AsyncClient
    headers: dict[str, str]
    phase: str = "before"
    answers: list[Answer] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        try:
            await self._send_forever()
        finally:
            self._arrived.set()

    async def until(self, phase: str, count: int) -> None:
        """Until ``count`` answers of ``phase`` have come (each request has its own timeout)."""
        while len([a for a in self.answers if a.phase == phase]) < count:
            assert not self.failures, self.failures
            self._arrived.clear()
            await self._arrived.wait()

    async def _send_forever(self) -> None:
        n = 0
        while True:
            n += 1
            method, path, body = (
                ("GET", "/api/users/me", None)
                if n % 2
                else ("POST", "/api/posts/", {"title": f"during {self.phase}", "body": "x"})
            )
            sent_in = self.phase
            try:
                response = await self.client.request(
                    method, path, json=body, headers=self.headers, timeout=REQUEST_TIMEOUT
                )
            except httpx2.HTTPError as exc:  # a hang (timeout) or a dropped connection
                self.failures.append(exc)
                raise
            # A request that straddles a change of phase belongs to neither.
            phase = sent_in if sent_in == self.phase else f"{sent_in} -> {self.phase}"
            self.answers.append(
                Answer(
                    phase,
                    method,
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.headers.get("retry-after"),
                    response.text,
                )
            )
            self._arrived.set()
            await asyncio.sleep(0.02)

    def statuses(self, phase: str) -> set[int]:
        return {answer.status for answer in self.answers if answer.phase == phase}


@pytest.fixture
async def server_url(office: BackOffice, proxy: TcpProxy) -> AsyncIterator[str]:
    """A uvicorn server, in a thread of its own, whose database is behind the proxy. The proxy
    runs on the test's event loop, so this fixture waits without blocking that loop."""
    url = make_url(office.settings.database_url).set(host="127.0.0.1", port=proxy.port)
    settings: Settings = office.settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False)}
    )
    server = ServerThread(BackOffice(settings).create_app(), timeout=60)
    await server.start_async()
    yield server.url
    await server.stop_async()


async def wait_for(client: httpx2.AsyncClient, path: str, status: int, **kwargs: object) -> None:
    deadline = time.monotonic() + SETTLE_DEADLINE
    while True:
        response = await client.get(path, timeout=REQUEST_TIMEOUT, **kwargs)  # type: ignore[arg-type]
        if response.status_code == status:
            return
        assert time.monotonic() < deadline, f"{path}: still {response.status_code}"
        await asyncio.sleep(0.1)


def assert_unavailable_problem(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.content_type == "application/problem+json", answer
    assert answer.retry_after is not None and answer.retry_after.isdigit(), answer
    assert "Traceback" not in answer.body and "asyncpg" not in answer.body, answer


async def test_an_outage_answers_503_and_the_same_process_serves_again_afterwards(
    office: BackOffice, proxy: TcpProxy, server_url: str
) -> None:
    await make_user(office, "alice")
    async with httpx2.AsyncClient(base_url=server_url) as client:
        login = await client.post(
            "/api/auth/login", data={"username": "alice", "password": DEFAULT_PASSWORD}
        )
        assert login.status_code == 200, login.text
        traffic = Traffic(client, {"Authorization": f"Bearer {login.json()['access_token']}"})
        flowing = asyncio.create_task(traffic.run())
        try:
            await traffic.until("before", 4)

            traffic.phase = "cutting"
            await proxy.stop()
            traffic.phase = "outage"
            await wait_for(client, "/ready", 503)
            await traffic.until("outage", 6)
            health = await client.get("/health", timeout=REQUEST_TIMEOUT)
            ready = await client.get("/ready", timeout=REQUEST_TIMEOUT)
            login_now = await client.post(
                "/api/auth/login",
                data={"username": "alice", "password": DEFAULT_PASSWORD},
                timeout=REQUEST_TIMEOUT,
            )

            traffic.phase = "restoring"
            await proxy.start()
            await wait_for(client, "/ready", 200)
            await wait_for(client, "/api/users/me", 200, headers=traffic.headers)
            traffic.phase = "after"
            await traffic.until("after", 4)
        finally:
            flowing.cancel()
            await asyncio.gather(flowing, return_exceptions=True)

    assert traffic.failures == []
    assert traffic.statuses("before") == {200, 201}
    # Every request while the database is away is a clean 503, and nothing is ever a 500.
    for answer in traffic.answers:
        if answer.phase == "outage":
            assert_unavailable_problem(answer)
        else:
            assert answer.status in (200, 201, 503), answer
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
    assert ready.headers["retry-after"].isdigit()
    assert ready.json() == {"status": "unavailable", "database": "unreachable"}
    assert_unavailable_problem(
        Answer(
            "outage",
            "POST",
            login_now.status_code,
            login_now.headers.get("content-type", ""),
            login_now.headers.get("retry-after"),
            login_now.text,
        )
    )
    assert traffic.statuses("after") == {200, 201}
