"""Long passwords: a huge one is refused before any hashing (so it cannot tie up the server), and
one longer than bcrypt's 72 bytes counts in full (argon2 reads all of it; nothing truncates)."""

import re

import httpx2
import pytest
from conftest import Account, bearer, make_user
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import PASSWORD_MAX_LENGTH, User
from backoffice.models.auth import LoginThrottle
from backoffice.services import Caller

LOGIN = "/api/auth/login"
HUGE = "A1" + "x" * (1024 * 1024)  # one megabyte
# Forms refuse a field over 1 MB while parsing; below that, our length check refuses it.
OVERSIZED = {"1 MB": HUGE, "200 kB": HUGE[: 200 * 1024]}
LONG = "L0ng-" + "abcdefghij" * 9 + "Z9!!!"  # 100 bytes
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def assert_refused_as_input(response: httpx2.Response) -> None:
    assert response.status_code in (400, 413, 422), response.text[:500]
    assert "xxxxxxxxxx" not in response.text  # never echoed


async def nothing_was_counted(office: BackOffice) -> bool:
    async with office.session() as session:
        return (await session.exec(select(LoginThrottle))).first() is None


async def last_login(office: BackOffice, user_id: int) -> object:
    async with office.session() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user.last_login


# -- a megabyte ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(OVERSIZED))
async def test_a_huge_password_at_login_is_refused_before_the_credentials_are_checked(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, size: str
) -> None:
    for login in ("alice", "nobody"):
        response = await client.post(LOGIN, data={"username": login, "password": OVERSIZED[size]})
        assert_refused_as_input(response)
    # Refused before the throttle and the hash: no failure counted, no sign-in recorded.
    assert await nothing_was_counted(office)
    assert await last_login(office, alice.id) is None


async def test_a_megabyte_password_at_registration_is_refused(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    response = await client.post(
        "/api/users/", json={"email": "big@example.com", "username": "big", "password": HUGE}
    )
    assert_refused_as_input(response)
    async with office.session() as session:
        assert await office.users(session, Caller.operator()).find_by_login("big") is None


@pytest.mark.parametrize("field", ["current_password", "new_password"])
async def test_a_megabyte_password_in_a_password_change_is_refused(
    client: httpx2.AsyncClient, alice: Account, field: str
) -> None:
    body = {"current_password": alice.password, "new_password": "N3w-Password", field: HUGE}
    response = await client.post(
        "/api/users/me/password", json=body, headers=await bearer(client, "alice")
    )
    assert_refused_as_input(response)
    await bearer(client, "alice", alice.password)  # unchanged


async def test_a_megabyte_password_in_a_reset_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        mail = await office.auth(session, Caller.anonymous("api")).request_password_reset(
            "alice@example.com", reset_page="/reset"
        )
    assert mail is not None
    token = mail.text.split("token=", 1)[1].split()[0]

    response = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": HUGE}
    )

    assert_refused_as_input(response)
    await bearer(client, "alice", alice.password)  # unchanged, and the token still works:
    ok = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": LONG}
    )
    assert ok.status_code == 204


@pytest.mark.parametrize("size", list(OVERSIZED))
async def test_a_huge_password_at_the_admin_login_is_refused_without_counting(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, size: str
) -> None:
    page = await client.get("/admin/login")
    token = _CSRF.search(page.text)
    assert token

    response = await client.post(
        "/admin/login",
        data={"username": "root", "password": OVERSIZED[size], "csrf_token": token[1]},
    )

    assert_refused_as_input(response)
    assert await nothing_was_counted(office)
    assert (await client.get("/admin/user/list")).status_code == 302


@pytest.mark.parametrize("size", list(OVERSIZED))
async def test_a_huge_password_in_the_admins_user_form_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, size: str
) -> None:
    login_page = await client.get("/admin/login")
    token = _CSRF.search(login_page.text)
    assert token
    await client.post(
        "/admin/login",
        data={"username": "root", "password": superuser.password, "csrf_token": token[1]},
    )
    form = await client.get("/admin/user/create")
    token = _CSRF.search(form.text)
    assert token

    response = await client.post(
        "/admin/user/create",
        data={
            "email": "big@example.com",
            "username": "big",
            "password": OVERSIZED[size],
            "is_active": "y",
            "csrf_token": token[1],
            "save": "Save",
        },
    )

    assert_refused_as_input(response)
    async with office.session() as session:
        assert await office.users(session, Caller.operator()).find_by_login("big") is None


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(PASSWORD_MAX_LENGTH, True), (PASSWORD_MAX_LENGTH + 1, False)],
    ids=["at the maximum", "one over"],
)
async def test_the_maximum_length_is_inclusive(
    client: httpx2.AsyncClient, length: int, accepted: bool
) -> None:
    password = ("Ab1-" + "q" * length)[:length]
    response = await client.post(
        "/api/users/", json={"email": "max@example.com", "username": "max", "password": password}
    )
    assert (response.status_code == 201) is accepted, response.text


# -- past 72 bytes ---------------------------------------------------------------------------


async def test_a_100_byte_password_works_and_its_72_byte_prefix_does_not(
    client: httpx2.AsyncClient,
) -> None:
    assert len(LONG.encode()) == 100
    registered = await client.post(
        "/api/users/", json={"email": "long@example.com", "username": "long", "password": LONG}
    )
    assert registered.status_code == 201, registered.text

    await bearer(client, "long", LONG)
    for prefix in (LONG[:72], LONG[:73], LONG[:99]):
        response = await client.post(LOGIN, data={"username": "long", "password": prefix})
        assert response.status_code == 401


async def test_a_multibyte_password_past_72_bytes_counts_in_full(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    password = "A1" + "é" * 40  # 42 characters, 82 bytes in UTF-8
    assert len(password.encode()) > 72
    await make_user(office, "accent", password=password)

    await bearer(client, "accent", password)
    first_72_bytes = password.encode()[:72].decode()
    response = await client.post(LOGIN, data={"username": "accent", "password": first_72_bytes})
    assert response.status_code == 401


async def test_a_long_new_password_set_by_a_change_counts_in_full(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    changed = await client.post(
        "/api/users/me/password",
        json={"current_password": alice.password, "new_password": LONG},
        headers=await bearer(client, "alice"),
    )
    assert changed.status_code == 204

    await bearer(client, "alice", LONG)
    response = await client.post(LOGIN, data={"username": "alice", "password": LONG[:72]})
    assert response.status_code == 401
