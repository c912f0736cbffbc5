"""Per-address limits on registration and on password reset requests (429 with Retry-After),
a per-recipient limit on reset mails (the same 202, no more mail), all counted in the database;
and sign-in hashing that never queues behind the hashing of new passwords.

The application sends mail from a background task that ``ASGITransport`` runs to completion
before it hands back the response, so once a later mail has arrived, an earlier one that was
not sent will never come."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from conftest import Account
from fastapi import FastAPI
from sqlmodel import col, func, select, update

from backoffice import BackOffice, Settings
from backoffice.models import User, utcnow
from backoffice.models.auth import LoginThrottle
from tests.smtp import WAIT_SECONDS, MailServer

REGISTER = "/api/users/"
RESET = "/api/auth/password-reset"
LOGIN = "/api/auth/login"
REGISTRATIONS = 3
RESETS = 4
MAILS = 2


@pytest.fixture
def settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(
        update={
            **mail_server.settings(),
            "registration_limit_per_address": REGISTRATIONS,
            "password_reset_limit_per_address": RESETS,
            "password_reset_mails_per_account": MAILS,
        }
    )


def client_for(app: FastAPI, address: str) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, client=(address, 40000))
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def elsewhere(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """The same app, reached from another client address."""
    async with client_for(app, "192.0.2.7") as client:
        yield client


async def register(client: httpx2.AsyncClient, name: str, **extra: Any) -> httpx2.Response:
    body = {"email": f"{name}@example.com", "username": name, "password": "Sup3rSecretPass"}
    return await client.post(REGISTER, json={**body, **extra})


async def request_reset(client: httpx2.AsyncClient, email: str) -> httpx2.Response:
    return await client.post(RESET, json={"email": email})


def assert_throttled(response: httpx2.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert response.json()["type"] == "urn:backoffice:problem:throttled"


async def user_count(office: BackOffice, email: str) -> int:
    async with office.session() as session:
        query = select(func.count()).select_from(User).where(col(User.email) == email)
        return int(await session.scalar(query) or 0)


def mails_to(mail_server: MailServer, email: str) -> int:
    return sum(email in m.rcpt_tos for m in mail_server.messages)


async def windows_pass(office: BackOffice) -> None:
    """Time passes: every count started over a window ago."""
    window = timedelta(seconds=office.settings.rate_limit_window_seconds + 1)
    async with office.session() as session:
        await session.exec(update(LoginThrottle).values(last_failure_at=utcnow() - window))


# -- registration ----------------------------------------------------------------------------


async def test_registration_past_the_limit_from_one_address_gets_429_no_account_and_no_mail(
    client: httpx2.AsyncClient,
    elsewhere: httpx2.AsyncClient,
    office: BackOffice,
    mail_server: MailServer,
) -> None:
    for number in range(REGISTRATIONS):
        assert (await register(client, f"user{number}")).status_code == 201
        await mail_server.wait_for(f"user{number}@example.com")

    refused = await register(client, "onetoomany")

    assert_throttled(refused, office.settings.rate_limit_window_seconds)
    assert "registered from your address" in refused.json()["detail"]
    assert await user_count(office, "onetoomany@example.com") == 0
    # Another address is not limited; once its welcome mail is in, none for the refused is due.
    assert (await register(elsewhere, "neighbour")).status_code == 201
    await mail_server.wait_for("neighbour@example.com")
    assert mails_to(mail_server, "onetoomany@example.com") == 0


async def test_a_failed_registration_takes_no_place(client: httpx2.AsyncClient) -> None:
    assert (await register(client, "first")).status_code == 201
    for _ in range(REGISTRATIONS):
        assert (await register(client, "first")).status_code == 409
        assert (await register(client, "weak", password="password1")).status_code == 422

    for number in range(REGISTRATIONS - 1):
        assert (await register(client, f"user{number}")).status_code == 201
    assert (await register(client, "onetoomany")).status_code == 429


async def test_registration_is_allowed_again_once_the_window_is_over(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    for number in range(REGISTRATIONS):
        assert (await register(client, f"user{number}")).status_code == 201
    assert (await register(client, "later")).status_code == 429

    await windows_pass(office)

    assert (await register(client, "later")).status_code == 201


async def test_two_app_instances_on_one_database_share_the_registration_count(
    client: httpx2.AsyncClient, settings: Settings
) -> None:
    other = BackOffice(settings)
    try:
        async with client_for(other.create_app(), "127.0.0.1") as second:
            for number in range(REGISTRATIONS):
                target = client if number % 2 else second
                assert (await register(target, f"user{number}")).status_code == 201
            assert (await register(client, "onetoomany")).status_code == 429
            assert (await register(second, "onetoomany")).status_code == 429
    finally:
        await other.dispose()


# -- password reset requests -----------------------------------------------------------------


async def test_reset_requests_past_the_limit_from_one_address_get_429(
    client: httpx2.AsyncClient, elsewhere: httpx2.AsyncClient, office: BackOffice
) -> None:
    for number in range(RESETS):
        assert (await request_reset(client, f"nobody{number}@example.com")).status_code == 202

    refused = await request_reset(client, "nobody@example.com")

    assert_throttled(refused, office.settings.rate_limit_window_seconds)
    assert "password reset requests" in refused.json()["detail"]
    assert (await request_reset(elsewhere, "nobody@example.com")).status_code == 202


async def test_past_the_limit_for_one_recipient_the_answer_is_the_same_but_no_mail_is_sent(
    client: httpx2.AsyncClient,
    elsewhere: httpx2.AsyncClient,
    mail_server: MailServer,
    alice: Account,
    bob: Account,
) -> None:
    answers = []
    for _ in range(MAILS):
        before = len(mail_server.messages)
        answers.append(await request_reset(client, "alice@example.com"))
        await mail_server.wait_for("alice@example.com", after=before)
    answers.append(await request_reset(client, "ALICE@example.com"))
    unknown = await request_reset(client, "nobody@example.com")

    assert unknown.status_code == 202
    assert {(a.status_code, a.text) for a in answers} == {(unknown.status_code, unknown.text)}
    # A later mail to someone else arrives; the one over the limit never does.
    assert (await request_reset(elsewhere, "bob@example.com")).status_code == 202
    await mail_server.wait_for("bob@example.com")
    assert mails_to(mail_server, "alice@example.com") == MAILS


# -- hashing capacity ------------------------------------------------------------------------


async def test_a_login_is_not_queued_behind_the_hashing_of_new_passwords(
    client: httpx2.AsyncClient, elsewhere: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    limiter = office.hasher.hash_limiter
    holders = [object() for _ in range(int(limiter.total_tokens))]
    for holder in holders:
        await limiter.acquire_on_behalf_of(holder)  # every new-password hash is busy
    registering = asyncio.create_task(register(elsewhere, "dora"))
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            # anyio's limiter offers no event to wait on: look until the registration waits.
            while limiter.statistics().tasks_waiting == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

        # Guarded so that a login queued behind the registration fails instead of hanging.
        login = await asyncio.wait_for(
            client.post(LOGIN, data={"username": "alice", "password": alice.password}),
            WAIT_SECONDS,
        )

        assert login.status_code == 200, login.text
        assert not registering.done()
        assert limiter.statistics().tasks_waiting == 1
    finally:
        for holder in holders:
            limiter.release_on_behalf_of(holder)
    assert (await registering).status_code == 201
