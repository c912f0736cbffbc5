"""Two uvicorn processes over one PostgreSQL database, as behind a load balancer: whatever one
worker learns about sign-ins (a signed-out token, a spent refresh token, failed attempts) the
other knows too, and a race between them leaves no duplicate rows.

The database is a scratch one created for this module and migrated with ``backoffice migrate``;
the workers run ``uvicorn backoffice.cli:create_app --factory`` with one shared secret key.
"""

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, POSTGRES_URL, TEST_SECRET_KEY
from sqlalchemy import func, pool, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from backoffice.models import User
from backoffice.models.auth import LoginThrottle
from tests.servers import free_port

pytestmark = pytest.mark.postgres_only

ACCOUNT_FAILURES = 3
STARTUP_DEADLINE = 60.0
REQUEST_TIMEOUT = 30.0


def run_in_own_thread(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Runs a coroutine to completion from a synchronous fixture, on a loop of its own."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0] if result else None


async def run_on_server(url: URL, statement: str) -> None:
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database="postgres",
    )  # fmt: skip
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def scratch_database() -> Iterator[str]:
    assert POSTGRES_URL
    server = make_url(POSTGRES_URL)
    name = f"backoffice_workers_{uuid.uuid4().hex[:12]}"
    run_in_own_thread(run_on_server(server, f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        run_in_own_thread(run_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def worker_environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env.update(
        BACKOFFICE_DATABASE_URL=database_url,
        BACKOFFICE_SECRET_KEY=TEST_SECRET_KEY,
        BACKOFFICE_ENV="development",
        BACKOFFICE_ARGON2_TIME_COST="1",
        BACKOFFICE_ARGON2_MEMORY_COST="1024",
        BACKOFFICE_ARGON2_PARALLELISM="1",
        BACKOFFICE_LOGIN_THROTTLE_ACCOUNT_FAILURES=str(ACCOUNT_FAILURES),
        BACKOFFICE_MAIL_BACKEND="console",
        BACKOFFICE_LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Worker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Workers:
    a: Worker
    b: Worker
    database_url: str


def wait_until_healthy(worker: Worker) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    with httpx2.Client(base_url=worker.url, timeout=5) as client:
        while True:
            assert worker.process.poll() is None, f"worker exited:\n{worker.output()}"
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, f"worker not healthy:\n{worker.output()}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def workers(scratch_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    home = tmp_path_factory.mktemp("workers")  # the working directory: no stray .env is read
    env = worker_environment(scratch_database)
    migrated = subprocess.run(
        [sys.executable, "-m", "backoffice", "migrate"],
        cwd=home, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr

    started: list[Worker] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = home / f"worker-{name}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [
                        sys.executable, "-m", "uvicorn", "backoffice.cli:create_app",
                        "--factory", "--host", "127.0.0.1", "--port", str(port),
                        "--log-level", "warning",
                    ],
                    cwd=home, env=env, stdout=sink, stderr=subprocess.STDOUT,
                )  # fmt: skip
            started.append(Worker(f"http://127.0.0.1:{port}", process, log))
        for worker in started:
            wait_until_healthy(worker)
        yield Workers(started[0], started[1], scratch_database)
    finally:
        for worker in started:
            worker.process.terminate()
        for worker in started:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=30)


async def scalar(database_url: str, query: Any) -> Any:
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(query)).scalar_one_or_none()
    finally:
        await engine.dispose()


async def register(client: httpx2.AsyncClient, worker: Worker, username: str) -> None:
    response = await client.post(
        f"{worker.url}/api/users/",
        json={
            "email": f"{username}@example.com",
            "username": username,
            "password": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 201, response.text


async def login(
    client: httpx2.AsyncClient, worker: Worker, username: str, password: str = DEFAULT_PASSWORD
) -> httpx2.Response:
    return await client.post(
        f"{worker.url}/api/auth/login", data={"username": username, "password": password}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_signed_out_through_one_worker_is_refused_by_the_other(
    workers: Workers,
) -> None:
    a, b = workers.a, workers.b
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
        await register(client, a, "signout")
        tokens = (await login(client, a, "signout")).json()
        access = bearer(tokens["access_token"])
        assert (await client.get(f"{b.url}/api/users/me", headers=access)).status_code == 200

        out = await client.post(
            f"{a.url}/api/auth/logout",
            json={"refresh_token": tokens["refresh_token"]},
            headers=access,
        )
        assert out.status_code == 204, out.text

        refused = await client.get(f"{b.url}/api/users/me", headers=access)
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
        renewed = await client.post(
            f"{b.url}/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert renewed.status_code == 401, renewed.text


async def test_reusing_a_refresh_token_across_workers_revokes_its_family(
    workers: Workers,
) -> None:
    a, b = workers.a, workers.b
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
        await register(client, a, "rotation")
        first = (await login(client, a, "rotation")).json()["refresh_token"]

        rotated = await client.post(f"{b.url}/api/auth/refresh", json={"refresh_token": first})
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()["refresh_token"]

        # The spent token again, on the other worker: someone else has a copy.
        reused = await client.post(f"{a.url}/api/auth/refresh", json={"refresh_token": first})
        assert reused.status_code == 401, reused.text
        # ...so the family is over, on both workers, the legitimate newest token included.
        for worker in (b, a):
            after = await client.post(
                f"{worker.url}/api/auth/refresh", json={"refresh_token": second}
            )
            assert after.status_code == 401, after.text


async def test_failed_logins_alternating_between_workers_count_together(
    workers: Workers,
) -> None:
    a, b = workers.a, workers.b
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
        await register(client, a, "guessed")
        answers = [
            await login(client, worker, "guessed", "Wr0ngGuess")
            for worker in (a, b, a, b)  # one more than the threshold
        ]

    statuses = [answer.status_code for answer in answers]
    # Neither worker alone has seen the threshold; together they have.
    assert statuses == [401] * ACCOUNT_FAILURES + [429], [a.text for a in answers]
    assert answers[-1].headers["retry-after"].isdigit()
    failures = await scalar(
        workers.database_url,
        select(func.sum(LoginThrottle.failures)).where(
            LoginThrottle.key.startswith("account:")  # type: ignore[attr-defined]
        ),
    )
    assert failures == ACCOUNT_FAILURES


async def test_concurrent_registrations_of_one_email_over_both_workers_make_one_account(
    workers: Workers,
) -> None:
    urls = [workers.a.url, workers.b.url]
    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{urls[n % 2]}/api/users/",
                    json={
                        "email": "race@example.com",
                        "username": f"racer{n}",
                        "password": DEFAULT_PASSWORD,
                    },
                )
                for n in range(20)
            )
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code != 409]
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["loc"] == ["body", "email"]
    rows = await scalar(
        workers.database_url,
        select(func.count()).select_from(User).where(User.email == "race@example.com"),  # type: ignore[arg-type]
    )
    assert rows == 1
