"""Access and refresh tokens: rotation, reuse detection, sign-out, and tokens that are not
interchangeable. All revocation state is in the database, so two app instances agree."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from conftest import DEFAULT_PASSWORD, Account, make_user
from sqlmodel import col, select, update

from backoffice import BackOffice, Settings
from backoffice.models import User, utcnow
from backoffice.models.auth import RefreshToken, RevokedAccessToken
from backoffice.services import Caller

LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
ME = "/api/users/me"
RESET = "/api/auth/password-reset/confirm"


async def sign_in(
    client: httpx2.AsyncClient, login: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    response = await client.post(LOGIN, data={"username": login, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def auth(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def refresh(client: httpx2.AsyncClient, refresh_token: str) -> httpx2.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def refreshed(client: httpx2.AsyncClient, refresh_token: str) -> dict[str, Any]:
    response = await refresh(client, refresh_token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def works(client: httpx2.AsyncClient, access_token: str) -> bool:
    response = await client.get(ME, headers=auth(access_token))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def assert_not_a_refresh_token(response: httpx2.Response) -> None:
    """Refused: as an unknown token (401), or by the schema when it is too long for one (422)."""
    assert response.status_code in (401, 422), response.text
    assert "access_token" not in response.text


def assert_refused(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.fixture
async def second_app_client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """Another app instance (another worker) on the same database."""
    other = BackOffice(settings)
    transport = httpx2.ASGITransport(app=other.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await other.dispose()


# -- the pair --------------------------------------------------------------------------------


async def test_login_returns_an_access_token_and_a_refresh_token_not_to_be_cached(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.post(LOGIN, data={"username": "alice", "password": alice.password})

    body = response.json()
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"
    assert await works(client, body["access_token"])


async def test_the_database_keeps_only_a_hash_of_the_refresh_token(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")

    async with office.session() as session:
        rows = (await session.exec(select(RefreshToken))).all()
    assert len(rows) == 1
    assert rows[0].user_id == alice.id
    assert pair["refresh_token"] not in rows[0].token_hash


# -- rotation --------------------------------------------------------------------------------


async def test_refresh_gives_a_new_working_pair_and_a_new_refresh_token_each_time(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    first = await sign_in(client, "alice")

    second = await refreshed(client, first["refresh_token"])
    third = await refreshed(client, second["refresh_token"])

    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    assert await works(client, third["access_token"])


async def test_refresh_response_is_not_to_be_cached(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    response = await refresh(client, pair["refresh_token"])
    assert response.headers["cache-control"] == "no-store"


async def test_a_refresh_token_used_twice_revokes_its_whole_family(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    stolen = await sign_in(client, "alice")
    rotated = await refreshed(client, stolen["refresh_token"])
    latest = await refreshed(client, rotated["refresh_token"])

    assert_refused(await refresh(client, stolen["refresh_token"]))  # the copy is replayed

    # Every token descended from that login is dead now, including the newest one.
    assert_refused(await refresh(client, latest["refresh_token"]))
    assert_refused(await refresh(client, rotated["refresh_token"]))


async def test_reuse_detection_leaves_other_logins_of_the_same_user_alone(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    laptop = await sign_in(client, "alice")
    phone = await sign_in(client, "alice")
    await refreshed(client, laptop["refresh_token"])

    assert_refused(await refresh(client, laptop["refresh_token"]))

    assert (await refresh(client, phone["refresh_token"])).status_code == 200


async def test_the_family_revocation_is_kept_although_the_reuse_request_fails(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    newer = await refreshed(client, pair["refresh_token"])

    assert_refused(await refresh(client, pair["refresh_token"]))

    async with office.session() as session:
        rows = (await session.exec(select(RefreshToken))).all()
    assert len(rows) == 2
    assert all(row.revoked_at is not None for row in rows)
    assert_refused(await refresh(client, newer["refresh_token"]))


async def test_of_simultaneous_uses_of_one_refresh_token_exactly_one_succeeds(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")

    answers = await asyncio.gather(*(refresh(client, pair["refresh_token"]) for _ in range(4)))

    assert sorted(response.status_code for response in answers) == [200, 401, 401, 401]


async def test_reuse_is_detected_across_two_app_instances_on_one_database(
    client: httpx2.AsyncClient, second_app_client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    newer = await refreshed(client, pair["refresh_token"])

    assert_refused(await refresh(second_app_client, pair["refresh_token"]))

    assert_refused(await refresh(client, newer["refresh_token"]))


@pytest.mark.parametrize(
    "token", ["", "rt_not-a-real-token", "x" * 201], ids=["empty", "unknown", "too long"]
)
async def test_an_unknown_or_malformed_refresh_token_is_refused(
    client: httpx2.AsyncClient, alice: Account, token: str
) -> None:
    assert_not_a_refresh_token(await refresh(client, token))


async def test_an_expired_refresh_token_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    async with office.session() as session:
        await session.exec(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert_refused(await refresh(client, pair["refresh_token"]))


async def test_a_refresh_token_lives_as_long_as_the_setting_says(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    await sign_in(client, "alice")
    async with office.session() as session:
        row = (await session.exec(select(RefreshToken))).one()
    lifetime = row.expires_at - row.issued_at
    assert lifetime == timedelta(days=office.settings.refresh_token_expire_days)


async def test_a_deactivated_users_refresh_token_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    async with office.session() as session:
        # Straight in the database: the refresh must check the account, not only the token.
        await session.exec(update(User).where(col(User.id) == alice.id).values(is_active=False))

    assert_refused(await refresh(client, pair["refresh_token"]))


async def test_a_deleted_users_refresh_token_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    async with office.session() as session:
        await session.delete(await session.get(User, alice.id))

    assert_refused(await refresh(client, pair["refresh_token"]))


# -- sign-out --------------------------------------------------------------------------------


async def test_logout_makes_both_the_access_and_the_refresh_token_fail(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")

    response = await client.post(
        LOGOUT, json={"refresh_token": pair["refresh_token"]}, headers=auth(pair["access_token"])
    )

    assert response.status_code == 204, response.text
    assert not await works(client, pair["access_token"])
    assert_refused(await refresh(client, pair["refresh_token"]))


async def test_logout_ends_the_tokens_rotated_from_the_same_login(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    first = await sign_in(client, "alice")
    current = await refreshed(client, first["refresh_token"])

    await client.post(
        LOGOUT,
        json={"refresh_token": current["refresh_token"]},
        headers=auth(current["access_token"]),
    )

    assert_refused(await refresh(client, current["refresh_token"]))
    assert not await works(client, current["access_token"])


async def test_logout_without_a_refresh_token_ends_the_access_token_only(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")

    response = await client.post(LOGOUT, headers=auth(pair["access_token"]))

    assert response.status_code == 204, response.text
    assert not await works(client, pair["access_token"])
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_logout_keeps_the_access_token_revoked_until_it_expires(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    await client.post(LOGOUT, headers=auth(pair["access_token"]))

    async with office.session() as session:
        revoked = (await session.exec(select(RevokedAccessToken))).one()
    lifetime = timedelta(minutes=office.settings.access_token_expire_minutes)
    assert utcnow() < revoked.expires_at <= utcnow() + lifetime


async def test_logout_needs_a_valid_access_token(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")

    assert_refused(await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]}))

    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_logout_cannot_end_someone_elses_refresh_token(
    client: httpx2.AsyncClient, alice: Account, bob: Account
) -> None:
    alices = await sign_in(client, "alice")
    bobs = await sign_in(client, "bob")

    await client.post(
        LOGOUT, json={"refresh_token": alices["refresh_token"]}, headers=auth(bobs["access_token"])
    )

    assert (await refresh(client, alices["refresh_token"])).status_code == 200
    assert not await works(client, bobs["access_token"])


async def test_a_logout_through_one_app_instance_holds_on_another(
    client: httpx2.AsyncClient, second_app_client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    assert await works(second_app_client, pair["access_token"])

    await client.post(
        LOGOUT, json={"refresh_token": pair["refresh_token"]}, headers=auth(pair["access_token"])
    )

    assert not await works(second_app_client, pair["access_token"])
    assert_refused(await refresh(second_app_client, pair["refresh_token"]))


async def test_signing_out_twice_is_harmless(client: httpx2.AsyncClient, alice: Account) -> None:
    pair = await sign_in(client, "alice")
    headers = auth(pair["access_token"])
    assert (await client.post(LOGOUT, headers=headers)).status_code == 204
    assert_refused(await client.post(LOGOUT, headers=headers))


# -- tokens are not interchangeable ----------------------------------------------------------


async def test_a_refresh_token_is_not_a_bearer_token(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    assert_refused(await client.get(ME, headers=auth(pair["refresh_token"])))


async def test_an_access_token_is_not_a_refresh_token(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    assert_not_a_refresh_token(await refresh(client, pair["access_token"]))
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_a_password_reset_token_is_neither_a_bearer_nor_a_refresh_token(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        auth_service = office.auth(session, Caller.anonymous("api"))
        mail = await auth_service.request_password_reset("alice@example.com", reset_page="/reset")
    assert mail is not None
    reset_token = mail.text.split("token=", 1)[1].split()[0]

    assert_refused(await client.get(ME, headers=auth(reset_token)))
    assert_not_a_refresh_token(await refresh(client, reset_token))


async def test_an_access_or_refresh_token_is_not_a_password_reset_token(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    pair = await sign_in(client, "alice")
    for token in (pair["access_token"], pair["refresh_token"]):
        response = await client.post(RESET, json={"token": token, "new_password": "N3w-Passw0rd"})
        assert response.status_code == 422, response.text
    assert await works(client, pair["access_token"])  # the password did not change


async def test_the_admin_session_cookie_is_not_a_token_of_any_kind(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    page = await client.get("/admin/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = await client.post(
        "/admin/login",
        data={"username": "root", "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 302
    cookie = client.cookies["backoffice_admin"]

    assert_refused(await client.get(ME, headers=auth(cookie)))
    assert_not_a_refresh_token(await refresh(client, cookie))
    reset = await client.post(RESET, json={"token": cookie, "new_password": "N3w-Passw0rd"})
    assert reset.status_code == 422
