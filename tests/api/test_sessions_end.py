"""Everything dies on a password change, reset or deactivation: every access token, refresh token
and admin session the user had before. Demoting an admin takes effect on the next request."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, Account, bearer, make_staff, make_user
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.models import UserUpdate
from backoffice.services import Caller

LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
ME = "/api/users/me"
NEW_PASSWORD = "Brand-N3w-Secret"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Signed:
    """Everything one person holds after signing in everywhere."""

    access_tokens: list[str]
    refresh_token: str
    admin: httpx2.AsyncClient

    async def api_works(self, client: httpx2.AsyncClient) -> list[bool]:
        answers = []
        for token in self.access_tokens:
            response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code in (200, 401), response.text
            answers.append(response.status_code == 200)
        return answers

    async def refresh_works(self, client: httpx2.AsyncClient) -> bool:
        response = await client.post(REFRESH, json={"refresh_token": self.refresh_token})
        assert response.status_code in (200, 401), response.text
        return response.status_code == 200

    async def admin_works(self) -> bool:
        response = await self.admin.get("/admin/user/list")
        assert response.status_code in (200, 302), response.text
        return response.status_code == 200


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
async def admin_client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """A second browser on the same app, for the admin session."""
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def admin_sign_in(admin: httpx2.AsyncClient, login: str, password: str) -> None:
    page = await admin.get("/admin/login")
    response = await admin.post(
        "/admin/login",
        data={"username": login, "password": password, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302, response.text


async def sign_in_everywhere(
    client: httpx2.AsyncClient, admin: httpx2.AsyncClient, login: str, password: str
) -> Signed:
    """Two API logins (one already refreshed once) and an admin session."""
    first = await client.post(LOGIN, data={"username": login, "password": password})
    second = await client.post(LOGIN, data={"username": login, "password": password})
    rotated = await client.post(REFRESH, json={"refresh_token": second.json()["refresh_token"]})
    assert first.status_code == second.status_code == rotated.status_code == 200
    await admin_sign_in(admin, login, password)
    return Signed(
        access_tokens=[first.json()["access_token"], rotated.json()["access_token"]],
        refresh_token=rotated.json()["refresh_token"],
        admin=admin,
    )


# -- what ends them --------------------------------------------------------------------------

Event = Callable[[httpx2.AsyncClient, BackOffice, Account, Signed], Awaitable[str | None]]
"""Does something to the account; returns its new password (None: the account is gone)."""


async def change_own_password(
    client: httpx2.AsyncClient, office: BackOffice, helper: Account, signed: Signed
) -> str | None:
    response = await client.post(
        "/api/users/me/password",
        json={"current_password": helper.password, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {signed.access_tokens[0]}"},
    )
    assert response.status_code == 204, response.text
    return NEW_PASSWORD


async def reset_password(
    client: httpx2.AsyncClient, office: BackOffice, helper: Account, signed: Signed
) -> str | None:
    async with office.session() as session:
        mail = await office.auth(session, Caller.anonymous("api")).request_password_reset(
            helper.user.email, reset_page="/reset"
        )
    assert mail is not None
    token = re.search(r"token=(\S+)", mail.text)
    assert token
    response = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": token.group(1), "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204, response.text
    return NEW_PASSWORD


async def deactivate_through_the_api(
    client: httpx2.AsyncClient, office: BackOffice, helper: Account, signed: Signed
) -> str | None:
    headers = await bearer(client, "root")
    response = await client.patch(
        f"/api/users/{helper.id}", json={"is_active": False}, headers=headers
    )
    assert response.status_code == 200, response.text
    return None


async def deactivate_in_the_admin(
    client: httpx2.AsyncClient, office: BackOffice, helper: Account, signed: Signed
) -> str | None:
    transport = httpx2.ASGITransport(app=office.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as root:
        await admin_sign_in(root, "root", DEFAULT_PASSWORD)
        path = f"/admin/user/edit/{helper.id}"
        form = await root.get(path)
        response = await root.post(
            path,
            data={
                "email": helper.user.email,
                "username": helper.user.username,
                "full_name": "",
                "is_staff": "y",
                "csrf_token": csrf_token(form.text),
                "save": "Save",
            },  # is_active left out: an unticked checkbox
        )
    assert response.status_code == 302, response.text
    return None


async def operator_sets_a_password(
    client: httpx2.AsyncClient, office: BackOffice, helper: Account, signed: Signed
) -> str | None:
    # What `backoffice changepassword` does (tests/test_cli.py runs the command itself).
    async with office.session() as session:
        await office.users(session, Caller.operator("cli")).set_password(helper.id, NEW_PASSWORD)
    return NEW_PASSWORD


EVENTS: dict[str, Event] = {
    "own password change": change_own_password,
    "password reset": reset_password,
    "deactivation through the API": deactivate_through_the_api,
    "deactivation in the admin": deactivate_in_the_admin,
    "operator sets a password": operator_sets_a_password,
}


@pytest.mark.parametrize("event", list(EVENTS))
async def test_every_older_token_and_admin_session_of_the_user_fails_afterwards(
    client: httpx2.AsyncClient,
    admin_client: httpx2.AsyncClient,
    office: BackOffice,
    superuser: Account,
    event: str,
) -> None:
    helper = await make_staff(office, "helper")
    signed = await sign_in_everywhere(client, admin_client, "helper", helper.password)
    assert await signed.api_works(client) == [True, True]
    assert await signed.admin_works()

    new_password = await EVENTS[event](client, office, helper, signed)

    assert await signed.api_works(client) == [False, False]
    assert not await signed.refresh_works(client)
    assert not await signed.admin_works()
    if new_password is not None:  # the account itself goes on: new sign-ins work
        fresh = await sign_in_everywhere(client, admin_client, "helper", new_password)
        assert await fresh.api_works(client) == [True, True]
        assert await fresh.refresh_works(client)
        assert await fresh.admin_works()


async def test_other_users_keep_their_tokens_and_sessions(
    client: httpx2.AsyncClient, admin_client: httpx2.AsyncClient, office: BackOffice
) -> None:
    helper = await make_staff(office, "helper")
    other = await make_staff(office, "other")
    signed = await sign_in_everywhere(client, admin_client, "other", other.password)

    await operator_sets_a_password(client, office, helper, signed)

    assert await signed.api_works(client) == [True, True]
    assert await signed.refresh_works(client)
    assert await signed.admin_works()


async def test_a_refused_password_change_ends_nothing(
    client: httpx2.AsyncClient, admin_client: httpx2.AsyncClient, office: BackOffice
) -> None:
    helper = await make_staff(office, "helper")
    signed = await sign_in_everywhere(client, admin_client, "helper", helper.password)

    weak = await client.post(
        "/api/users/me/password",
        json={"current_password": helper.password, "new_password": "password"},
        headers={"Authorization": f"Bearer {signed.access_tokens[0]}"},
    )

    assert weak.status_code == 422
    assert await signed.api_works(client) == [True, True]
    assert await signed.refresh_works(client)
    assert await signed.admin_works()


# -- demotion --------------------------------------------------------------------------------


async def test_a_demoted_staff_user_loses_admin_rights_on_the_next_request(
    client: httpx2.AsyncClient,
    admin_client: httpx2.AsyncClient,
    office: BackOffice,
    superuser: Account,
) -> None:
    helper = await make_staff(office, "helper")
    signed = await sign_in_everywhere(client, admin_client, "helper", helper.password)
    staff_headers = {"Authorization": f"Bearer {signed.access_tokens[0]}"}
    assert (await client.get("/api/users/", headers=staff_headers)).status_code == 200

    demoted = await client.patch(
        f"/api/users/{helper.id}", json={"is_staff": False}, headers=await bearer(client, "root")
    )
    assert demoted.status_code == 200

    assert (await client.get("/api/users/", headers=staff_headers)).status_code == 403
    assert not await signed.admin_works()
    # Still a valid account: the same token reads their own profile.
    assert await signed.api_works(client) == [True, True]


async def test_a_demoted_superuser_can_no_longer_grant_rights(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    await make_user(office, "second", is_staff=True, is_superuser=True)
    alice = await make_user(office, "alice")
    headers = await bearer(client, "second")
    async with office.session() as session:
        await office.users(session, Caller.operator()).update(
            (await _id(office, "second")), UserUpdate(is_superuser=False)
        )

    response = await client.patch(
        f"/api/users/{alice.id}", json={"is_staff": True}, headers=headers
    )

    assert response.status_code == 403


async def _id(office: BackOffice, username: str) -> int:
    async with office.session() as session:
        user = await office.users(session, Caller.operator()).find_by_login(username)
    assert user is not None and user.id is not None
    return user.id
