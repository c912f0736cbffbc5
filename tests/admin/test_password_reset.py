"""The admin's "Forgot your password?" pages: on the same service as the API's reset, with the
mail delivered to a real SMTP server (aiosmtpd) started by the tests."""

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice, Settings
from backoffice.services.auth import INVALID_RESET
from tests.admin.conftest import AdminBrowser, csrf_token, form_error
from tests.conftest import Account, make_staff, make_user
from tests.smtp import Delivered, MailServer

BASE_URL = "https://office.example.com"
REQUEST_PAGE = "/admin/password-reset"
CONFIRM_PAGE = "/admin/password-reset/confirm"
NEW_PASSWORD = "Fresh-Start-2024"


@pytest.fixture
def settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(update={**mail_server.settings(), "base_url": BASE_URL})


@pytest.fixture
async def stranger(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """Another browser: the one that opens the link in the mail."""
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def ask_for_a_link(client: httpx2.AsyncClient, email: str) -> httpx2.Response:
    page = await client.get(REQUEST_PAGE)
    assert page.status_code == 200
    return await client.post(
        REQUEST_PAGE, data={"email": email, "csrf_token": csrf_token(page.text)}
    )


async def reset_mail(client: httpx2.AsyncClient, mail_server: MailServer, email: str) -> Delivered:
    before = len(mail_server.messages)
    response = await ask_for_a_link(client, email)
    assert response.status_code == 200, response.text
    return await mail_server.wait_for(email, after=before)


def link_in(mail: Delivered) -> str:
    links = [link for link in mail.links() if "token=" in link]
    assert len(links) == 1, mail.text
    return links[0]


async def set_password(
    client: httpx2.AsyncClient, link: str, first: str, second: str | None = None
) -> httpx2.Response:
    """Open the link (its path and query: the test server is not on BASE_URL) and submit."""
    parts = urlsplit(link)
    page = await client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, "the page does not carry the token"
    return await client.post(
        CONFIRM_PAGE,
        data={
            "token": token[1],
            "new_password": first,
            "new_password2": first if second is None else second,
            "csrf_token": csrf_token(page.text),
        },
    )


async def can_sign_in(client: httpx2.AsyncClient, login: str, password: str) -> bool:
    response = await client.post("/api/auth/login", data={"username": login, "password": password})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


# -- asking for a link -----------------------------------------------------------------------


async def test_the_login_page_links_to_the_reset_page(client: httpx2.AsyncClient) -> None:
    login = await client.get("/admin/login")
    link = re.search(r'<a href="([^"]+)" id="forgot-password">', login.text)
    assert link and urlsplit(link[1]).path == REQUEST_PAGE

    page = await client.get(link[1])
    assert page.status_code == 200
    assert 'name="email"' in page.text and csrf_token(page.text)


async def test_the_request_page_answers_the_same_for_known_unknown_and_inactive_emails(
    client: httpx2.AsyncClient, office: BackOffice, mail_server: MailServer, alice: Account
) -> None:
    await make_user(office, "sleepy", is_active=False)
    answers = []
    for email in ("nobody@example.com", "sleepy@example.com", "alice@example.com"):
        response = await ask_for_a_link(client, email)
        answers.append((response.status_code, response.text))

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 200
    assert 'id="reset-requested"' in answers[0][1]
    await mail_server.wait_for("alice@example.com")
    assert [m.rcpt_tos for m in mail_server.messages] == [["alice@example.com"]]


async def test_a_real_smtp_server_receives_the_mail_with_a_link_on_base_url(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    page = await client.get(REQUEST_PAGE, headers={"host": "evil.example"})
    response = await client.post(
        REQUEST_PAGE,
        data={"email": "alice@example.com", "csrf_token": csrf_token(page.text)},
        headers={"host": "evil.example"},
    )
    assert response.status_code == 200

    mail = await mail_server.wait_for("alice@example.com")
    assert link_in(mail).startswith(f"{BASE_URL}{CONFIRM_PAGE}?token=")
    assert "evil.example" not in mail.message.as_string()


async def test_an_invalid_email_is_a_form_error(
    client: httpx2.AsyncClient, mail_server: MailServer
) -> None:
    response = await ask_for_a_link(client, "not-an-address")
    assert response.status_code == 400
    assert form_error(response.text) == "Enter a valid email address."
    assert mail_server.messages == []


async def test_requests_past_the_limit_from_one_address_get_429_with_the_reason(
    client: httpx2.AsyncClient, office: BackOffice, app: FastAPI
) -> None:
    for number in range(office.settings.password_reset_limit_per_address):
        assert (await ask_for_a_link(client, f"nobody{number}@example.com")).status_code == 200

    refused = await ask_for_a_link(client, "nobody@example.com")

    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "password reset requests" in (form_error(refused.text) or "")
    assert 'name="email"' in refused.text  # the form again, to try later
    # The limit is per address: a request from elsewhere is answered as usual.
    transport = httpx2.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await ask_for_a_link(other, "nobody@example.com")).status_code == 200


async def test_a_request_without_the_csrf_token_sends_nothing(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    await client.get(REQUEST_PAGE)
    response = await client.post(REQUEST_PAGE, data={"email": "alice@example.com"})
    assert response.status_code == 403
    assert mail_server.messages == []


# -- following the link ----------------------------------------------------------------------


async def test_following_the_link_sets_the_password_and_ends_old_sessions_and_tokens(
    browser: AdminBrowser,
    client: httpx2.AsyncClient,
    stranger: httpx2.AsyncClient,
    office: BackOffice,
    mail_server: MailServer,
) -> None:
    helper = await make_staff(office, "helper")
    assert (await browser.login("helper")).status_code == 302
    tokens = (
        await client.post(
            "/api/auth/login", data={"username": "helper", "password": helper.password}
        )
    ).json()
    mail = await reset_mail(stranger, mail_server, "helper@example.com")

    response = await set_password(stranger, link_in(mail), NEW_PASSWORD)

    assert response.status_code == 200, form_error(response.text)
    assert 'id="reset-complete"' in response.text
    # The old admin session and API tokens are dead...
    assert (await browser.client.get("/admin/user/list")).status_code == 302
    me = await client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 401
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    # ...and the new password opens both doors.
    assert not await can_sign_in(client, "helper", helper.password)
    assert await can_sign_in(client, "helper", NEW_PASSWORD)
    assert (await AdminBrowser(stranger).login("helper", NEW_PASSWORD)).status_code == 302


async def test_the_page_with_the_token_is_neither_cached_nor_framed_nor_referred(
    stranger: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    link = urlsplit(link_in(await reset_mail(stranger, mail_server, "alice@example.com")))

    page = await stranger.get(f"{link.path}?{link.query}")

    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"  # the token stays on the site
    assert page.headers["x-frame-options"] == "DENY"


async def test_the_link_works_once(
    stranger: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    link = link_in(await reset_mail(stranger, mail_server, "alice@example.com"))
    assert (await set_password(stranger, link, NEW_PASSWORD)).status_code == 200

    parts = urlsplit(link)
    reopened = await stranger.get(f"{parts.path}?{parts.query}")
    # Said when the link is opened, before anyone fills in a form.
    assert reopened.status_code == 400
    assert INVALID_RESET in reopened.text
    assert 'name="new_password"' not in reopened.text
    # And a submission with it (a form kept open from before) is refused all the same.
    token = csrf_token((await stranger.get("/admin/password-reset")).text)
    again = await stranger.post(
        CONFIRM_PAGE,
        data={
            "token": parts.query.removeprefix("token="),
            "new_password": "Another-Try-2024",
            "new_password2": "Another-Try-2024",
            "csrf_token": token,
        },
    )
    assert again.status_code == 400
    assert form_error(again.text) == INVALID_RESET
    assert await can_sign_in(stranger, "alice", NEW_PASSWORD)


async def test_mismatched_passwords_show_an_error_and_change_nothing(
    stranger: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    link = link_in(await reset_mail(stranger, mail_server, "alice@example.com"))

    response = await set_password(stranger, link, NEW_PASSWORD, NEW_PASSWORD + "x")

    assert response.status_code == 400
    assert form_error(response.text) == "The two passwords differ."
    assert NEW_PASSWORD not in response.text
    assert await can_sign_in(stranger, "alice", alice.password)
    assert (await set_password(stranger, link, NEW_PASSWORD)).status_code == 200  # still valid


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Password1", "Password is too common."),
        ("Alice1234", "Password is too similar to your email."),
        ("short", "Password must be at least 8 characters long."),
        ("A1" + "x" * 5_000, "Password must be at most 128 characters long."),
    ],
    ids=["common", "similar", "short", "huge"],
)
async def test_a_password_the_policy_refuses_shows_the_reason(
    stranger: httpx2.AsyncClient,
    mail_server: MailServer,
    alice: Account,
    password: str,
    message: str,
) -> None:
    link = link_in(await reset_mail(stranger, mail_server, "alice@example.com"))

    response = await set_password(stranger, link, password)

    assert response.status_code == 400
    assert message in (form_error(response.text) or "")
    assert password not in response.text
    assert await can_sign_in(stranger, "alice", alice.password)


async def test_a_forged_link_says_so_when_opened(
    stranger: httpx2.AsyncClient, alice: Account
) -> None:
    response = await stranger.get(f"{CONFIRM_PAGE}?token=forged")
    assert response.status_code == 400
    assert INVALID_RESET in response.text
    assert 'name="new_password"' not in response.text
    assert 'id="request-new-link"' in response.text


@pytest.mark.parametrize("attack", ["no token", "cross origin"])
async def test_a_confirm_post_without_the_token_or_from_another_origin_changes_nothing(
    stranger: httpx2.AsyncClient, mail_server: MailServer, alice: Account, attack: str
) -> None:
    link = urlsplit(link_in(await reset_mail(stranger, mail_server, "alice@example.com")))
    page = await stranger.get(f"{link.path}?{link.query}")
    data = {
        "token": link.query.removeprefix("token="),
        "new_password": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    headers = {}
    if attack == "cross origin":
        data["csrf_token"] = csrf_token(page.text)
        headers["Origin"] = "https://evil.example"

    response = await stranger.post(CONFIRM_PAGE, data=data, headers=headers)

    assert response.status_code == 403
    assert await can_sign_in(stranger, "alice", alice.password)
