"""Changing an email address: one's own takes the current password, and whoever changes it, the
old address is told by mail (delivered to a real local SMTP server)."""

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, Account, assert_problem, bearer

from backoffice import BackOffice, Settings
from backoffice.models import User
from tests.smtp import Delivered, MailServer

ME = "/api/users/me"
NEW_EMAIL = "alice@elsewhere.example"


@pytest.fixture
def settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(update=mail_server.settings())


async def stored(office: BackOffice, account: Account) -> User:
    async with office.session() as session:
        user = await session.get(User, account.id)
    assert user is not None
    return user


def assert_a_notice_without_secrets(mail: Delivered, *secrets: str) -> None:
    assert mail.to == "alice@example.com"
    assert "email address" in mail.subject
    assert "alice@example.com" in mail.text and "alice" in mail.text
    assert mail.html is not None and "alice@example.com" in mail.html
    for part in (mail.text, mail.html):
        assert "token" not in part.lower()
        assert "http" not in part  # no link at all, so none that carries a secret
        assert NEW_EMAIL not in part  # the old mailbox may be the one at risk
        assert "$argon2" not in part
        for secret in secrets:
            assert secret not in part


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "Give your current password to change your email address."),
        ({"current_password": ""}, "Give your current password to change your email address."),
        ({"current_password": "Not-the-Passw0rd"}, "The current password is incorrect."),
    ],
)
async def test_changing_ones_own_email_needs_the_current_password(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice: Account,
    given: dict[str, str],
    message: str,
) -> None:
    headers = await bearer(client, "alice")

    response = await client.patch(
        ME, json={"email": NEW_EMAIL, "full_name": "Changed", **given}, headers=headers
    )

    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"loc": ["body", "current_password"], "msg": message, "type": "value_error"}
    ]
    user = await stored(office, alice)
    assert (user.email, user.full_name) == ("alice@example.com", None)


async def test_the_same_goes_through_the_admin_route_for_ones_own_account(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account
) -> None:
    response = await client.patch(
        f"/api/users/{staff.id}", json={"email": NEW_EMAIL}, headers=await bearer(client, "staffer")
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "current_password"]
    assert (await stored(office, staff)).email == "staffer@example.com"


async def test_other_profile_fields_need_no_password(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    response = await client.patch(
        ME,
        json={"email": "alice@example.com", "username": "alice2", "full_name": "A"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert (await stored(office, alice)).username == "alice2"


async def test_with_the_password_the_email_changes_and_the_old_address_is_told(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, mail_server: MailServer
) -> None:
    headers = await bearer(client, "alice")

    response = await client.patch(
        ME, json={"email": NEW_EMAIL, "current_password": alice.password}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert "current_password" not in response.text and alice.password not in response.text
    assert (await stored(office, alice)).email == NEW_EMAIL
    notice = await mail_server.wait_for("alice@example.com")
    assert_a_notice_without_secrets(notice, alice.password)
    assert all(NEW_EMAIL not in m.rcpt_tos for m in mail_server.messages)


async def test_an_admin_changes_someones_email_without_their_password_and_they_are_told(
    client: httpx2.AsyncClient,
    office: BackOffice,
    staff: Account,
    alice: Account,
    mail_server: MailServer,
) -> None:
    response = await client.patch(
        f"/api/users/{alice.id}", json={"email": NEW_EMAIL}, headers=await bearer(client, "staffer")
    )

    assert response.status_code == 200, response.text
    assert (await stored(office, alice)).email == NEW_EMAIL
    assert_a_notice_without_secrets(
        await mail_server.wait_for("alice@example.com"), DEFAULT_PASSWORD
    )
