"""Admin sessions live on the server: the cookie holds only an opaque key (and the CSRF token),
logout ends the session for every copy of the cookie, and sessions expire after an idle time and
a maximum age. Sign-in is throttled like the API's, and ``?next=`` never leaves the admin."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from fastapi import FastAPI
from itsdangerous import TimestampSigner
from sqlmodel import select, update

from backoffice import BackOffice, Settings
from backoffice.admin.auth import SESSION_COOKIE
from backoffice.models import User, utcnow
from backoffice.models.auth import AdminSession
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import DEFAULT_PASSWORD, TEST_SECRET_KEY, Account, make_staff

IDLE_SECONDS = 600
MAX_AGE_SECONDS = 3600
ACCOUNT_FAILURES = 3
NEW_USER = {
    "email": "newbie@example.com",
    "username": "newbie",
    "password": "Fresh-Passw0rd",
    "is_active": "y",
    "save": "Save",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "admin_session_idle_seconds": IDLE_SECONDS,
            "admin_session_max_age_seconds": MAX_AGE_SECONDS,
            "login_throttle_account_failures": ACCOUNT_FAILURES,
        }
    )


def new_client(app: FastAPI) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app)
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """Someone else's browser."""
    async with new_client(app) as client:
        yield client


def cookie_payload(cookie: str) -> dict[str, Any]:
    """What Starlette's session cookie says: base64 JSON, then a timestamp and a signature."""
    encoded = cookie.split(".")[0]
    payload: dict[str, Any] = json.loads(base64.b64decode(encoded))
    return payload


def signed_cookie(payload: dict[str, Any]) -> str:
    """A cookie signed with the real key, as only the server (or a thief of the key) can."""
    data = base64.b64encode(json.dumps(payload).encode())
    return TimestampSigner(TEST_SECRET_KEY).sign(data).decode()


async def admin_works(client: httpx2.AsyncClient) -> bool:
    response = await client.get("/admin/user/list")
    assert response.status_code in (200, 302), response.text
    return response.status_code == 200


async def count_users(office: BackOffice) -> int:
    async with office.session() as session:
        return len((await session.exec(select(User))).all())


async def the_session(office: BackOffice) -> AdminSession:
    async with office.session() as session:
        return (await session.exec(select(AdminSession))).one()


async def move_session(office: BackOffice, **changes: Any) -> None:
    async with office.session() as session:
        await session.exec(update(AdminSession).values(**changes))


# -- the cookie ------------------------------------------------------------------------------


async def test_the_cookie_holds_only_an_opaque_key_and_the_csrf_token(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    cookie = signed_in.client.cookies[SESSION_COOKIE]

    payload = cookie_payload(cookie)

    assert set(payload) == {"sid", "csrf"}
    text = json.dumps(payload).lower()
    for personal in ("root", "example.com", "argon2", str(superuser.id) + ","):
        assert personal not in text
    assert len(payload["sid"]) >= 32
    row = await the_session(office)
    assert row.user_id == superuser.id
    assert payload["sid"] not in row.key_hash  # the database keeps only a hash of the key


async def test_a_validly_signed_cookie_naming_a_user_instead_of_a_session_is_refused(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    for payload in ({"sid": str(superuser.id)}, {"user_id": superuser.id}, {"sid": "root"}):
        client.cookies.set(SESSION_COOKIE, signed_cookie(payload), path="/admin")
        assert not await admin_works(client)


async def test_a_tampered_cookie_is_refused(
    signed_in: AdminBrowser, other_client: httpx2.AsyncClient
) -> None:
    cookie = signed_in.client.cookies[SESSION_COOKIE]
    payload = cookie_payload(cookie)
    forged_data = base64.b64encode(json.dumps({**payload, "sid": payload["sid"][::-1]}).encode())
    forged = forged_data.decode() + cookie[cookie.index(".") :]

    other_client.cookies.set(SESSION_COOKIE, forged, path="/admin")

    assert not await admin_works(other_client)


async def test_a_copied_cookie_works_until_logout(
    signed_in: AdminBrowser, other_client: httpx2.AsyncClient
) -> None:
    other_client.cookies.set(
        SESSION_COOKIE, signed_in.client.cookies[SESSION_COOKIE], path="/admin"
    )
    assert await admin_works(other_client)  # a cookie is a bearer credential...

    token = await signed_in.token()
    logout = await signed_in.client.post("/admin/logout", data={"csrf_token": token})
    assert logout.status_code == 302

    assert not await admin_works(other_client)  # ...which logout ends on the server


async def test_a_replayed_cookie_after_logout_cannot_change_anything(
    signed_in: AdminBrowser, other_client: httpx2.AsyncClient, office: BackOffice
) -> None:
    cookie = signed_in.client.cookies[SESSION_COOKIE]
    token = csrf_token((await signed_in.client.get("/admin/user/create")).text)
    await signed_in.client.post("/admin/logout", data={"csrf_token": token})
    before = await count_users(office)

    other_client.cookies.set(SESSION_COOKIE, cookie, path="/admin")
    response = await other_client.post("/admin/user/create", data={**NEW_USER, "csrf_token": token})

    assert response.status_code == 302
    assert "/admin/login" in response.headers["location"]
    assert await count_users(office) == before


async def test_logout_ends_only_that_session(
    signed_in: AdminBrowser, other_client: httpx2.AsyncClient
) -> None:
    second = AdminBrowser(other_client)
    assert (await second.login("root")).status_code == 302

    await signed_in.client.post("/admin/logout", data={"csrf_token": await signed_in.token()})

    assert not await admin_works(signed_in.client)
    assert await admin_works(other_client)


async def test_logout_without_the_csrf_token_or_from_another_origin_ends_nothing(
    signed_in: AdminBrowser,
) -> None:
    tokenless = await signed_in.client.post("/admin/logout")
    cross_origin = await signed_in.client.post(
        "/admin/logout",
        data={"csrf_token": await signed_in.token()},
        headers={"Origin": "https://evil.example"},
    )

    assert tokenless.status_code == cross_origin.status_code == 403
    assert await admin_works(signed_in.client)


async def test_logout_is_refused_as_a_get(signed_in: AdminBrowser) -> None:
    assert (await signed_in.client.get("/admin/logout")).status_code == 405
    assert await admin_works(signed_in.client)


async def test_signing_in_gives_a_new_key_and_a_new_csrf_token(
    browser: AdminBrowser, superuser: Account
) -> None:
    login_page = await browser.client.get("/admin/login")
    before = cookie_payload(browser.client.cookies[SESSION_COOKIE])
    assert "sid" not in before

    await browser.client.post(
        "/admin/login",
        data={
            "username": "root",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(login_page.text),
        },
    )

    after = cookie_payload(browser.client.cookies[SESSION_COOKIE])
    assert after["csrf"] != before["csrf"]
    stale = await browser.client.post(
        "/admin/user/create", data={**NEW_USER, "csrf_token": before["csrf"]}
    )
    assert stale.status_code == 403


async def test_the_session_of_a_deleted_user_ends(
    browser: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    helper = await make_staff(office, "helper")
    await browser.login("helper")
    assert await admin_works(browser.client)

    async with office.session() as session:
        await session.delete(await session.get(User, helper.id))

    assert not await admin_works(browser.client)


# -- expiry ----------------------------------------------------------------------------------


async def test_the_lifetimes_come_from_the_settings(
    browser: AdminBrowser, office: BackOffice, superuser: Account
) -> None:
    response = await browser.login("root")

    row = await the_session(office)
    assert row.expires_at - row.created_at == timedelta(seconds=MAX_AGE_SECONDS)
    assert f"Max-Age={MAX_AGE_SECONDS}" in response.headers["set-cookie"]


async def test_a_session_unused_for_the_idle_time_ends(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    await move_session(office, last_seen_at=utcnow() - timedelta(seconds=IDLE_SECONDS + 1))

    assert not await admin_works(signed_in.client)

    # Ended for good: being seen again does not revive it.
    await move_session(office, last_seen_at=utcnow())
    assert not await admin_works(signed_in.client)


async def test_activity_keeps_a_session_alive(signed_in: AdminBrowser, office: BackOffice) -> None:
    almost_idle = timedelta(seconds=IDLE_SECONDS - 30)
    for _ in range(3):  # in all, longer than the idle time, but never idle that long
        await move_session(office, last_seen_at=utcnow() - almost_idle)
        assert await admin_works(signed_in.client)
        assert (await the_session(office)).last_seen_at > utcnow() - timedelta(seconds=30)


async def test_a_session_ends_at_its_maximum_age_however_active(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    now = utcnow()
    await move_session(
        office,
        created_at=now - timedelta(seconds=MAX_AGE_SECONDS + 1),
        expires_at=now - timedelta(seconds=1),
        last_seen_at=now,
    )

    assert not await admin_works(signed_in.client)


# -- throttled sign-in -----------------------------------------------------------------------


async def test_a_throttled_admin_login_answers_429_with_retry_after_and_the_login_page(
    browser: AdminBrowser, superuser: Account
) -> None:
    for _ in range(ACCOUNT_FAILURES):
        assert (await browser.login("root", "Wr0ng-Password")).status_code == 400

    response = await browser.login("root")  # the right password, too early

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "text/html" in response.headers["content-type"]
    assert 'name="password"' in response.text and csrf_token(response.text)
    assert "Too many failed sign-in attempts" in response.text
    assert not await admin_works(browser.client)


async def test_a_throttled_admin_login_is_the_same_for_an_unknown_account(
    browser: AdminBrowser, superuser: Account
) -> None:
    answers = []
    for login in ("root", "nobody"):
        for _ in range(ACCOUNT_FAILURES):
            await browser.login(login, "Wr0ng-Password")
        response = await browser.login(login)
        answers.append((response.status_code, response.headers["retry-after"]))

    assert answers[0] == answers[1]
    assert answers[0][0] == 429


# -- ?next= ----------------------------------------------------------------------------------


async def login_with_next(browser: AdminBrowser, target: str) -> str:
    page = await browser.client.get("/admin/login", params={"next": target})
    response = await browser.client.post(
        f"/admin/login?next={quote(target, safe='')}",
        data={
            "username": "root",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


async def test_next_inside_the_admin_is_followed_after_login(
    browser: AdminBrowser, superuser: Account
) -> None:
    location = await login_with_next(browser, "/admin/user/list?search=root")
    assert location == "/admin/user/list?search=root"


async def test_an_anonymous_visit_comes_back_to_the_page_after_login(
    browser: AdminBrowser, superuser: Account
) -> None:
    bounce = await browser.client.get("/admin/post/list")
    login_url = bounce.headers["location"]
    page = await browser.client.get(login_url)
    response = await browser.client.post(
        login_url,
        data={
            "username": "root",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.headers["location"] == "/admin/post/list"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/admin\\..\\evil",
        "///evil.example",
        "https://testserver/admin/user/list",
        "/api/users/me",
        "/admin/../api/users/me",
        "/admin/%2e%2e/api/users/me",
        "/adminx/user/list",
        "javascript:alert(1)",
        "",
    ],
)
async def test_next_outside_the_admin_falls_back_to_the_admin_index(
    browser: AdminBrowser, superuser: Account, target: str
) -> None:
    location = await login_with_next(browser, target)
    assert httpx2.URL(location).path == "/admin/"
    assert "evil" not in location
