"""POST /api/auth/password-reset and /password-reset/confirm, with the mail delivered to a real
SMTP server (aiosmtpd) started by the tests."""

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import itsdangerous
import pytest
from conftest import Account, make_user
from itsdangerous import URLSafeTimedSerializer

from backoffice import BackOffice, Settings
from backoffice.models import UserUpdate
from backoffice.security.reset_tokens import SALT as RESET_SALT
from backoffice.services import Caller
from tests.smtp import Delivered, MailServer, closed_port

REQUEST = "/api/auth/password-reset"
CONFIRM = "/api/auth/password-reset/confirm"
LOGIN = "/api/auth/login"
BASE_URL = "https://office.example.com"
NEW_PASSWORD = "Fresh-Start-2024"


@pytest.fixture
def settings(settings: Settings, mail_server: MailServer) -> Settings:
    return settings.model_copy(update={**mail_server.settings(), "base_url": BASE_URL})


async def request_reset(client: httpx2.AsyncClient, email: str, **headers: str) -> httpx2.Response:
    return await client.post(REQUEST, json={"email": email}, headers=headers)


async def reset_mail(client: httpx2.AsyncClient, mail_server: MailServer, email: str) -> Delivered:
    before = len(mail_server.messages)
    response = await request_reset(client, email)
    assert response.status_code == 202, response.text
    return await mail_server.wait_for(email, after=before)


def reset_link(mail: Delivered) -> str:
    links = [link for link in mail.links() if "token=" in link]
    assert len(links) == 1, mail.text
    return links[0]


def token_of(mail: Delivered) -> str:
    return parse_qs(urlsplit(reset_link(mail)).query)["token"][0]


async def confirm(
    client: httpx2.AsyncClient, token: str, new_password: str = NEW_PASSWORD
) -> httpx2.Response:
    return await client.post(CONFIRM, json={"token": token, "new_password": new_password})


async def can_sign_in(client: httpx2.AsyncClient, login: str, password: str) -> bool:
    response = await client.post(LOGIN, data={"username": login, "password": password})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def assert_invalid_token(response: httpx2.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert [error["loc"] for error in body["errors"]] == [["body", "token"]]


def later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Move itsdangerous's clock: the token's age is now plus ``seconds``."""
    now = int(time.time())
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now + seconds
    )


# -- asking for a link -----------------------------------------------------------------------


async def test_the_reset_mail_arrives_at_a_real_smtp_server_with_a_link_on_base_url(
    client: httpx2.AsyncClient, office: BackOffice, mail_server: MailServer, alice: Account
) -> None:
    response = await request_reset(
        client,
        "alice@example.com",
        host="evil.example",
        **{"x-forwarded-host": "evil.example", "x-forwarded-proto": "http"},
    )
    assert response.status_code == 202

    mail = await mail_server.wait_for("alice@example.com")
    link = reset_link(mail)
    assert link.startswith(f"{BASE_URL}/admin/password-reset/confirm?token=")
    assert "evil.example" not in mail.message.as_string()
    assert mail.rcpt_tos == ["alice@example.com"]
    assert mail.to == "alice@example.com"
    assert office.settings.project_name in mail.subject
    assert mail.html is not None and link.replace("&", "&amp;") in mail.html
    assert f"{office.settings.password_reset_expire_minutes} minutes" in mail.text


async def test_the_link_goes_to_the_configured_reset_page(
    settings: Settings, mail_server: MailServer, alice: Account
) -> None:
    custom = BackOffice(settings.model_copy(update={"password_reset_page": "/account/reset"}))
    transport = httpx2.ASGITransport(app=custom.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            mail = await reset_mail(client, mail_server, "alice@example.com")
    finally:
        await custom.dispose()
    assert reset_link(mail).startswith(f"{BASE_URL}/account/reset?token=")


async def test_the_answer_is_identical_for_unknown_inactive_and_active_emails(
    client: httpx2.AsyncClient, office: BackOffice, mail_server: MailServer, alice: Account
) -> None:
    await make_user(office, "sleepy", is_active=False)
    answers = []
    for email in ("nobody@example.com", "sleepy@example.com", "alice@example.com"):
        response = await request_reset(client, email)
        headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}
        answers.append((response.status_code, headers, response.content))

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 202
    # Only the active account got mail (each request's mail is sent before it completes).
    await mail_server.wait_for("alice@example.com")
    assert [m.rcpt_tos for m in mail_server.messages] == [["alice@example.com"]]


async def test_the_email_is_matched_without_regard_to_case(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    response = await request_reset(client, "Alice@EXAMPLE.com")
    assert response.status_code == 202
    await mail_server.wait_for("alice@example.com")


async def test_a_username_is_not_an_email_and_gets_no_mail(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    response = await request_reset(client, "alice")
    assert response.status_code == 422
    assert mail_server.messages == []


async def test_a_mail_server_that_is_down_fails_neither_the_reset_nor_registration(
    settings: Settings, alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BackOffice(settings.model_copy(update={"smtp_port": closed_port()}))
    transport = httpx2.ASGITransport(app=broken.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            known = await request_reset(client, "alice@example.com")
            unknown = await request_reset(client, "nobody@example.com")
            registered = await client.post(
                "/api/users/",
                json={"email": "new@example.com", "username": "newbie", "password": NEW_PASSWORD},
            )
    finally:
        await broken.dispose()

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert registered.status_code == 201, registered.text
    failures = [r for r in caplog.records if r.name == "backoffice.mail"]
    assert len(failures) == 2  # the reset mail and the welcome mail, logged
    assert all("token=" not in r.getMessage() for r in failures)


async def test_the_console_backend_prints_the_mail(
    settings: Settings, alice: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    console = BackOffice(settings.model_copy(update={"mail_backend": "console"}))
    transport = httpx2.ASGITransport(app=console.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await request_reset(client, "alice@example.com")
    finally:
        await console.dispose()

    assert response.status_code == 202
    printed = capsys.readouterr().out
    assert "To: alice@example.com" in printed
    link = next(line for line in printed.splitlines() if "token=" in line)
    assert f"{BASE_URL}/admin/password-reset/confirm?token=" in link  # whole, on one line
    assert "Content-Transfer-Encoding" not in printed and "=3D" not in printed  # decoded


async def test_registration_sends_a_welcome_mail(
    client: httpx2.AsyncClient, office: BackOffice, mail_server: MailServer
) -> None:
    response = await client.post(
        "/api/users/",
        json={"email": "Dora@Example.com", "username": "dora", "password": NEW_PASSWORD},
    )
    assert response.status_code == 201, response.text

    mail = await mail_server.wait_for("dora@example.com")
    assert "Welcome" in mail.subject
    assert "dora" in mail.text
    assert mail.html is not None and "dora@example.com" in mail.html
    assert NEW_PASSWORD not in mail.message.as_string()
    assert str(mail.message["From"]) == office.settings.mail_from


# -- using the link --------------------------------------------------------------------------


async def test_the_reset_token_sets_a_new_password_once(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    token = token_of(await reset_mail(client, mail_server, "alice@example.com"))

    response = await confirm(client, token)

    assert response.status_code == 204, response.text
    assert await can_sign_in(client, "alice", NEW_PASSWORD)
    assert not await can_sign_in(client, "alice", alice.password)
    assert_invalid_token(await confirm(client, token, "Another-Try-2024"))
    assert await can_sign_in(client, "alice", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("minutes_later", "works"), [(59, True), (61, False)], ids=["before expiry", "after expiry"]
)
async def test_the_reset_token_expires_after_the_configured_time(
    client: httpx2.AsyncClient,
    office: BackOffice,
    mail_server: MailServer,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    minutes_later: int,
    works: bool,
) -> None:
    assert office.settings.password_reset_expire_minutes == 60  # the default: one hour
    token = token_of(await reset_mail(client, mail_server, "alice@example.com"))

    later(monkeypatch, minutes_later * 60)
    response = await confirm(client, token)

    if works:
        assert response.status_code == 204, response.text
        assert await can_sign_in(client, "alice", NEW_PASSWORD)
    else:
        assert_invalid_token(response)
        assert await can_sign_in(client, "alice", alice.password)


async def test_a_shorter_configured_lifetime_is_honoured(
    settings: Settings,
    mail_server: MailServer,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = BackOffice(settings.model_copy(update={"password_reset_expire_minutes": 10}))
    transport = httpx2.ASGITransport(app=quick.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            mail = await reset_mail(client, mail_server, "alice@example.com")
            assert "10 minutes" in mail.text
            later(monkeypatch, 11 * 60)
            assert_invalid_token(await confirm(client, token_of(mail)))
    finally:
        await quick.dispose()


async def test_the_reset_token_dies_when_the_password_is_changed(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    token = token_of(await reset_mail(client, mail_server, "alice@example.com"))
    login = await client.post(LOGIN, data={"username": "alice", "password": alice.password})
    changed = await client.post(
        "/api/users/me/password",
        json={"current_password": alice.password, "new_password": "Chang3d-Myself"},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert changed.status_code == 204

    assert_invalid_token(await confirm(client, token))
    assert await can_sign_in(client, "alice", "Chang3d-Myself")


async def test_using_one_reset_link_kills_the_others(
    client: httpx2.AsyncClient,
    mail_server: MailServer,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = token_of(await reset_mail(client, mail_server, "alice@example.com"))
    later(monkeypatch, 60)  # a second request a minute later
    second = token_of(await reset_mail(client, mail_server, "alice@example.com"))
    assert first != second

    assert (await confirm(client, second)).status_code == 204
    assert_invalid_token(await confirm(client, first, "Another-Try-2024"))
    assert await can_sign_in(client, "alice", NEW_PASSWORD)


async def test_a_deactivated_account_cannot_use_an_earlier_reset_link(
    client: httpx2.AsyncClient, office: BackOffice, mail_server: MailServer, alice: Account
) -> None:
    token = token_of(await reset_mail(client, mail_server, "alice@example.com"))
    async with office.session() as session:
        await office.users(session, Caller.operator()).update(alice.id, UserUpdate(is_active=False))

    assert_invalid_token(await confirm(client, token))


async def test_a_weak_new_password_is_refused_and_the_link_still_works(
    client: httpx2.AsyncClient, mail_server: MailServer, alice: Account
) -> None:
    token = token_of(await reset_mail(client, mail_server, "alice@example.com"))

    weak = await confirm(client, token, "password1")
    assert weak.status_code == 422
    assert {tuple(e["loc"]) for e in weak.json()["errors"]} == {("body", "new_password")}
    assert "password1" not in weak.text

    assert (await confirm(client, token)).status_code == 204


def _forgeries(secret: str, genuine: str) -> dict[str, str]:
    payload: Any = URLSafeTimedSerializer(secret, salt=RESET_SALT).loads(genuine)
    return {
        "tampered": genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        "another salt": URLSafeTimedSerializer(secret, salt="other").dumps(payload),
        "another key": URLSafeTimedSerializer("k" * 48, salt=RESET_SALT).dumps(payload),
        "another fingerprint": URLSafeTimedSerializer(secret, salt=RESET_SALT).dumps(
            {**payload, "pwd": "0" * 32}
        ),
        "another user": URLSafeTimedSerializer(secret, salt=RESET_SALT).dumps(
            {**payload, "uid": payload["uid"] + 1}
        ),
        "not a dict": URLSafeTimedSerializer(secret, salt=RESET_SALT).dumps([1, 2]),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "tampered",
        "another salt",
        "another key",
        "another fingerprint",
        "another user",
        "not a dict",
        "garbage",
    ],
)
async def test_a_forged_reset_token_is_refused(
    client: httpx2.AsyncClient,
    office: BackOffice,
    mail_server: MailServer,
    alice: Account,
    bob: Account,
    kind: str,
) -> None:
    genuine = token_of(await reset_mail(client, mail_server, "alice@example.com"))
    forged = _forgeries(office.settings.get_secret_key(), genuine)[kind]

    assert_invalid_token(await confirm(client, forged))

    assert await can_sign_in(client, "alice", alice.password)
    assert await can_sign_in(client, "bob", bob.password)
