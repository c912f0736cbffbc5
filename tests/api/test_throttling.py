"""Login throttling: repeated failures for one account, or from one client address, make further
attempts wait (429 with Retry-After) for a growing delay. Stored in the database, so two app
instances on one database count together, and the admin and the API share it."""

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, Account
from fastapi import FastAPI
from sqlmodel import select, update

from backoffice import BackOffice, Settings
from backoffice.models import utcnow
from backoffice.models.auth import LoginThrottle

LOGIN = "/api/auth/login"
WRONG = "Wr0ng-Password"
ACCOUNT_FAILURES = 3
ADDRESS_FAILURES = 8
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_throttle_account_failures": ACCOUNT_FAILURES,
            "login_throttle_address_failures": ADDRESS_FAILURES,
        }
    )


def client_for(app: FastAPI, address: str = "127.0.0.1") -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, client=(address, 40000))
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def elsewhere(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """The same app, reached from another client address."""
    async with client_for(app, "192.0.2.7") as client:
        yield client


@pytest.fixture
async def second_app(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """Another app instance (another worker) on the same database, same client address."""
    other = BackOffice(settings)
    async with client_for(other.create_app()) as client:
        yield client
    await other.dispose()


async def attempt(client: httpx2.AsyncClient, login: str, password: str = WRONG) -> httpx2.Response:
    return await client.post(LOGIN, data={"username": login, "password": password})


async def fail(client: httpx2.AsyncClient, login: str, times: int = 1) -> None:
    for _ in range(times):
        response = await attempt(client, login)
        assert response.status_code == 401, response.text


def retry_after(response: httpx2.Response) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["retry-after"])


async def let_locks_expire(office: BackOffice) -> None:
    """Time passes: every current lock ends (the failure counts stay)."""
    async with office.session() as session:
        await session.exec(update(LoginThrottle).values(locked_until=utcnow()))


async def throttle_rows(office: BackOffice) -> list[LoginThrottle]:
    async with office.session() as session:
        return list((await session.exec(select(LoginThrottle))).all())


def comparable(response: httpx2.Response) -> tuple[int, Any, str | None]:
    return response.status_code, response.json(), response.headers.get("retry-after")


# -- one account -----------------------------------------------------------------------------


async def test_after_repeated_failures_further_attempts_get_429_with_retry_after(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES)

    response = await attempt(client, "alice")

    assert retry_after(response) >= 1
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429
    assert body["type"] == "urn:backoffice:problem:throttled"
    assert "Try again in" in body["detail"]


async def test_while_throttled_even_the_right_password_is_refused(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES)

    assert (await attempt(client, "alice", alice.password)).status_code == 429


async def test_once_the_wait_is_over_the_right_password_works_and_clears_the_count(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES)
    await let_locks_expire(office)

    assert (await attempt(client, "alice", alice.password)).status_code == 200

    # A fresh start: as many failures as before are allowed again.
    await fail(client, "alice", ACCOUNT_FAILURES - 1)
    assert (await attempt(client, "alice", alice.password)).status_code == 200


async def test_the_wait_grows_with_each_further_failure(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES)
    waits = [retry_after(await attempt(client, "alice"))]
    for _ in range(3):
        await let_locks_expire(office)
        await fail(client, "alice")  # allowed again, and counted
        waits.append(retry_after(await attempt(client, "alice")))

    assert waits == sorted(set(waits)), waits  # strictly growing
    assert waits[-1] >= 4 * waits[0]


async def test_the_wait_never_exceeds_the_configured_maximum(
    settings: Settings, office: BackOffice, alice: Account
) -> None:
    capped = BackOffice(settings.model_copy(update={"login_throttle_max_delay_seconds": 3}))
    try:
        async with client_for(capped.create_app()) as client:
            await fail(client, "alice", ACCOUNT_FAILURES)
            waits = []
            for _ in range(4):
                await let_locks_expire(office)
                await fail(client, "alice")
                waits.append(retry_after(await attempt(client, "alice")))
    finally:
        await capped.dispose()
    assert max(waits) <= 3
    assert waits[-1] == waits[-2]


async def test_the_answer_is_the_same_whether_or_not_the_account_exists(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    for attempt_number in range(ACCOUNT_FAILURES + 1):
        known = await attempt(client, "alice")
        unknown = await attempt(client, "nobody")
        assert comparable(known) == comparable(unknown), attempt_number
    assert known.status_code == 429


async def test_the_account_is_counted_however_its_name_is_written(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    for login in ("alice", "ALICE", " Alice "):
        await fail(client, login)

    assert (await attempt(client, "alice", alice.password)).status_code == 429


async def test_failures_by_email_and_by_username_count_against_one_budget(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    for number in range(ACCOUNT_FAILURES):
        await fail(client, "alice" if number % 2 else "Alice@Example.com")

    assert (await attempt(client, "alice", alice.password)).status_code == 429
    assert (await attempt(client, "alice@example.com", alice.password)).status_code == 429


async def test_a_success_by_one_spelling_clears_the_count_of_the_other(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES - 1)
    assert (await attempt(client, "alice@example.com", alice.password)).status_code == 200

    await fail(client, "alice", ACCOUNT_FAILURES - 1)

    assert (await attempt(client, "alice", alice.password)).status_code == 200


async def test_logins_that_name_no_account_are_counted_each_as_typed(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    for number in range(ACCOUNT_FAILURES):
        await fail(client, "nobody" if number % 2 else "nobody@example.com")

    assert (await attempt(client, "nobody")).status_code == 401
    assert (await attempt(client, "nobody@example.com")).status_code == 401


async def test_the_lock_on_an_account_holds_from_every_address(
    client: httpx2.AsyncClient, elsewhere: httpx2.AsyncClient, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES)

    assert (await attempt(elsewhere, "alice", alice.password)).status_code == 429


async def test_failures_older_than_the_window_are_forgotten(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await fail(client, "alice", ACCOUNT_FAILURES - 1)
    window = timedelta(seconds=office.settings.login_throttle_window_seconds + 1)
    async with office.session() as session:
        await session.exec(update(LoginThrottle).values(last_failure_at=utcnow() - window))

    await fail(client, "alice", ACCOUNT_FAILURES - 1)

    assert (await attempt(client, "alice", alice.password)).status_code == 200


async def test_the_database_does_not_store_the_login_that_was_typed(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await fail(client, "Sup3rSecretPass-typed-in-the-wrong-field")

    rows = await throttle_rows(office)
    assert {row.key.split(":")[0] for row in rows} == {"account", "address"}
    assert all("Sup3rSecret" not in row.key.lower() for row in rows)


async def test_a_refused_oversized_password_is_not_counted(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    response = await attempt(client, "alice", "A1" + "x" * 1_000_000)

    assert response.status_code == 422
    assert await throttle_rows(office) == []


# -- one address -----------------------------------------------------------------------------


async def test_failures_from_one_address_throttle_every_account_from_there(
    client: httpx2.AsyncClient, elsewhere: httpx2.AsyncClient, alice: Account
) -> None:
    for number in range(ADDRESS_FAILURES):
        await fail(client, f"guess{number}")  # never the same account twice

    assert retry_after(await attempt(client, "alice", alice.password)) >= 1
    assert (await attempt(elsewhere, "alice", alice.password)).status_code == 200


async def test_a_success_does_not_clear_the_count_of_the_address(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    for number in range(ADDRESS_FAILURES - 1):
        await fail(client, f"guess{number}")
    assert (await attempt(client, "alice", alice.password)).status_code == 200

    await fail(client, "guess-last")

    assert (await attempt(client, "alice", alice.password)).status_code == 429


# -- shared across workers and doors ---------------------------------------------------------


async def test_two_app_instances_on_one_database_share_the_count(
    client: httpx2.AsyncClient, second_app: httpx2.AsyncClient, alice: Account
) -> None:
    await fail(client, "alice")
    await fail(second_app, "alice")
    await fail(client, "alice")

    assert (await attempt(second_app, "alice", alice.password)).status_code == 429
    assert (await attempt(client, "alice", alice.password)).status_code == 429


async def admin_login(client: httpx2.AsyncClient, login: str, password: str) -> httpx2.Response:
    page = await client.get("/admin/login")
    match = _CSRF.search(page.text)
    assert match
    return await client.post(
        "/admin/login", data={"username": login, "password": password, "csrf_token": match[1]}
    )


async def test_failures_in_the_admin_throttle_the_api_login(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    for _ in range(ACCOUNT_FAILURES):
        assert (await admin_login(client, "root", WRONG)).status_code == 400

    assert retry_after(await attempt(client, "root", DEFAULT_PASSWORD)) >= 1


async def test_failures_in_the_api_throttle_the_admin_login(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    await fail(client, "root", ACCOUNT_FAILURES)

    response = await admin_login(client, "root", DEFAULT_PASSWORD)

    assert retry_after(response) >= 1
    assert 'name="password"' in response.text  # the login page, with the reason
    assert "Try again in" in response.text
    assert (await client.get("/admin/user/list")).status_code == 302
