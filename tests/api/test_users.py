"""/api/users: registration, one's own account, and user management for admins."""

import asyncio
from typing import Any

import httpx2
import pytest
from conftest import (
    DEFAULT_PASSWORD,
    Account,
    assert_problem,
    bearer,
    in_trash,
    make_user,
    purge,
)
from sqlalchemy import func
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import Post, User

USERS = "/api/users/"
ME = "/api/users/me"
LOGIN = "/api/auth/login"
PUBLIC_FIELDS = {
    "id",
    "email",
    "username",
    "full_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "created_at",
    "updated_at",
    "last_login",
}


def error_fields(body: dict[str, Any]) -> set[str]:
    return {str(error["loc"][-1]) for error in body["errors"]}


def assert_no_secrets(response: httpx2.Response, *passwords: str) -> None:
    text = response.text
    assert "hashed_password" not in text
    assert "$argon2" not in text and "$2b$" not in text
    for password in (DEFAULT_PASSWORD, *passwords):
        assert password not in text


def registration(**fields: Any) -> dict[str, Any]:
    return {"email": "new@example.com", "username": "newbie", "password": "N3wcomerPass", **fields}


async def count_users(office: BackOffice, **where: str) -> int:
    query = select(func.count()).select_from(User)
    for column, value in where.items():
        query = query.where(getattr(User, column) == value)
    async with office.session() as session:
        return int(await session.scalar(query) or 0)


async def load(office: BackOffice, user_id: int) -> User | None:
    async with office.session() as session:
        user: User | None = await session.get(User, user_id)
    return user


# -- POST /api/users/ : registration ---------------------------------------------------------


async def test_registration_creates_an_ordinary_active_account(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.post(USERS, json=registration(full_name="New Person"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == PUBLIC_FIELDS
    assert (body["email"], body["username"], body["full_name"]) == (
        "new@example.com",
        "newbie",
        "New Person",
    )
    assert (body["is_active"], body["is_staff"], body["is_superuser"]) == (True, False, False)
    assert_no_secrets(response, "N3wcomerPass")
    await bearer(client, "newbie", "N3wcomerPass")


async def test_registration_needs_no_token(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        USERS, json=registration(), headers={"Authorization": "Bearer garbage"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser", "is_active"])
async def test_registration_cannot_set_account_flags(
    client: httpx2.AsyncClient, office: BackOffice, flag: str
) -> None:
    response = await client.post(USERS, json=registration(**{flag: flag != "is_active"}))

    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"loc": ["body", flag], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    assert_no_secrets(response, "N3wcomerPass")
    assert await count_users(office) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 51}, "username"),
        ({"full_name": "x" * 101}, "full_name"),
        ({"password": "Zq9xw"}, "password"),
        ({"password": "Zq9" + "w" * 126}, "password"),
        ({"password": 12345678}, "password"),
    ],
)
async def test_registration_refuses_invalid_fields(
    client: httpx2.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    response = await client.post(USERS, json=registration(**fields))

    body = assert_problem(response, 422)
    assert error_fields(body) == {field}
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert_no_secrets(response, "N3wcomerPass", str(fields.get("password", "N3wcomerPass")))


@pytest.mark.parametrize("name", ["operator", "System", " ANONYMOUS "])
async def test_the_audit_logs_names_cannot_be_registered_nor_taken_by_a_rename(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, name: str
) -> None:
    registered = await client.post(USERS, json=registration(username=name))
    renamed = await client.patch(ME, json={"username": name}, headers=await bearer(client, "alice"))

    for response in (registered, renamed):
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "username"]
        assert "is reserved" in body["errors"][0]["msg"]
    assert await count_users(office, username=name.strip().lower()) == 0
    assert await count_users(office) == 1


@pytest.mark.parametrize(
    ("password", "rule"),
    [("nouppercase1", "upper-case"), ("NoDigitsHere", "digit")],
)
async def test_registration_applies_the_password_policy_without_echoing_the_password(
    client: httpx2.AsyncClient, office: BackOffice, password: str, rule: str
) -> None:
    response = await client.post(USERS, json=registration(password=password))

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert rule in body["errors"][0]["msg"]
    assert password not in response.text
    assert await count_users(office) == 0


async def test_registration_with_invalid_json_is_a_validation_problem(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.post(
        USERS,
        content=b'{"password": "Zq9-half-a-body',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422)
    assert "Zq9-half-a-body" not in response.text


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"email": "ALICE@example.com"}, "email"), ({"username": "Alice"}, "username")],
)
async def test_registration_with_a_taken_email_or_username_is_a_conflict(
    client: httpx2.AsyncClient, alice: Account, fields: dict[str, str], field: str
) -> None:
    response = await client.post(USERS, json=registration(**fields))

    body = assert_problem(response, 409)
    assert body["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("field", ["email", "username"])
async def test_concurrent_registrations_of_one_address_end_in_one_account(
    client: httpx2.AsyncClient, office: BackOffice, field: str
) -> None:
    def attempt(n: int) -> dict[str, Any]:
        if field == "email":
            return registration(email="race@example.com", username=f"racer{n}")
        return registration(email=f"racer{n}@example.com", username="racer")

    responses = await asyncio.gather(*(client.post(USERS, json=attempt(n)) for n in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code != 409]
    for response in responses:
        if response.status_code == 409:
            body = assert_problem(response, 409)
            assert body["errors"][0]["loc"] == ["body", field]
    value = "race@example.com" if field == "email" else "racer"
    assert await count_users(office, **{field: value}) == 1


# -- GET /api/users/ : the list, for admins --------------------------------------------------


async def test_listing_users_without_a_token_is_unauthorized(client: httpx2.AsyncClient) -> None:
    assert_problem(await client.get(USERS), 401)


async def test_listing_users_is_forbidden_to_ordinary_users(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.get(USERS, headers=await bearer(client, "alice"))
    assert_problem(response, 403)


@pytest.mark.parametrize("admin", ["staffer", "root"])
async def test_admins_list_users_as_a_page_without_secrets(
    client: httpx2.AsyncClient,
    superuser: Account,
    staff: Account,
    alice: Account,
    admin: str,
) -> None:
    response = await client.get(USERS, headers=await bearer(client, admin))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "total_is_exact", "skip", "limit"}
    assert (body["total"], body["total_is_exact"], body["skip"], body["limit"]) == (3, True, 0, 50)
    assert [u["username"] for u in body["items"]] == ["root", "staffer", "alice"]
    assert all(set(item) == PUBLIC_FIELDS for item in body["items"])
    assert_no_secrets(response)


async def test_listing_users_pages_sorts_and_counts(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account
) -> None:
    for name in ["erin", "carol", "dave", "alan"]:
        await make_user(office, name)
    headers = await bearer(client, "staffer")

    response = await client.get(
        USERS, params={"sort": "-username", "skip": 1, "limit": 2}, headers=headers
    )

    body = response.json()
    assert [u["username"] for u in body["items"]] == ["erin", "dave"]
    assert (body["total"], body["skip"], body["limit"]) == (5, 1, 2)


async def test_a_page_of_a_hundred_is_allowed(client: httpx2.AsyncClient, staff: Account) -> None:
    response = await client.get(
        USERS, params={"limit": 100}, headers=await bearer(client, "staffer")
    )
    assert response.json()["limit"] == 100


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"skip": -1}, "skip"),
        ({"limit": "many"}, "limit"),
        ({"is_active": "perhaps"}, "is_active"),
    ],
)
async def test_listing_users_refuses_bad_paging(
    client: httpx2.AsyncClient, staff: Account, params: dict[str, Any], field: str
) -> None:
    response = await client.get(USERS, params=params, headers=await bearer(client, "staffer"))

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", field]


@pytest.mark.parametrize("sort", ["password", "hashed_password", "-full_name", "nonsense"])
async def test_listing_users_refuses_an_unknown_sort_field(
    client: httpx2.AsyncClient, staff: Account, sort: str
) -> None:
    response = await client.get(
        USERS, params={"sort": sort}, headers=await bearer(client, "staffer")
    )

    body = assert_problem(response, 422)
    assert error_fields(body) == {"sort"}


async def test_searching_users_takes_wildcards_literally(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account
) -> None:
    await make_user(office, "under1", email="under_score@example.com")
    await make_user(office, "under2", email="underxscore@example.com")
    headers = await bearer(client, "staffer")

    underscore = await client.get(USERS, params={"search": "UNDER_S"}, headers=headers)
    percent = await client.get(USERS, params={"search": "%"}, headers=headers)

    assert [u["username"] for u in underscore.json()["items"]] == ["under1"]
    assert percent.json()["total"] == 0


async def test_listing_users_filters_by_flags(
    client: httpx2.AsyncClient, superuser: Account, staff: Account, alice: Account
) -> None:
    headers = await bearer(client, "root")

    admins = await client.get(USERS, params={"is_staff": "true"}, headers=headers)
    ordinary = await client.get(USERS, params={"is_staff": "false"}, headers=headers)

    assert [u["username"] for u in admins.json()["items"]] == ["root", "staffer"]
    assert [u["username"] for u in ordinary.json()["items"]] == ["alice"]


async def test_searching_with_a_nul_character_is_not_a_server_error(
    client: httpx2.AsyncClient, staff: Account
) -> None:
    response = await client.get(
        USERS, params={"search": "a\x00b"}, headers=await bearer(client, "staffer")
    )
    assert_problem(response, 422)


# -- /api/users/me ---------------------------------------------------------------------------


async def test_me_is_the_callers_own_account(client: httpx2.AsyncClient, alice: Account) -> None:
    response = await client.get(ME, headers=await bearer(client, "alice"))

    assert response.status_code == 200
    assert response.json()["id"] == alice.id
    assert set(response.json()) == PUBLIC_FIELDS
    assert_no_secrets(response)


async def test_me_without_a_token_is_unauthorized(client: httpx2.AsyncClient) -> None:
    assert_problem(await client.get(ME), 401)
    assert_problem(await client.patch(ME, json={"full_name": "X"}), 401)
    assert_problem(
        await client.post(
            f"{ME}/password", json={"current_password": "x", "new_password": "N3wPassword"}
        ),
        401,
    )


async def test_a_user_changes_their_own_profile(client: httpx2.AsyncClient, alice: Account) -> None:
    headers = await bearer(client, "alice")

    response = await client.patch(
        ME,
        json={
            "full_name": "Alice Liddell",
            "email": "Liddell@Example.com",
            "current_password": alice.password,
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["full_name"], body["email"], body["username"]) == (
        "Alice Liddell",
        "liddell@example.com",
        "alice",
    )
    assert (await client.get(ME, headers=headers)).json()["email"] == "liddell@example.com"


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser", "is_active"])
async def test_a_user_cannot_set_their_own_flags(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, flag: str
) -> None:
    response = await client.patch(ME, json={flag: True}, headers=await bearer(client, "alice"))

    body = assert_problem(response, 422)
    assert body["errors"][0]["type"] == "extra_forbidden"
    stored = await load(office, alice.id)
    assert stored is not None and not (stored.is_staff or stored.is_superuser)


async def test_a_user_cannot_take_someone_elses_email(
    client: httpx2.AsyncClient, alice: Account, bob: Account
) -> None:
    response = await client.patch(
        ME,
        json={"email": "bob@example.com", "current_password": alice.password},
        headers=await bearer(client, "alice"),
    )

    body = assert_problem(response, 409)
    assert body["errors"][0]["loc"] == ["body", "email"]


async def test_a_profile_text_with_a_nul_character_is_invalid_not_a_crash(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.patch(
        ME, json={"full_name": "Al\x00ice"}, headers=await bearer(client, "alice")
    )
    body = assert_problem(response, 422)
    assert error_fields(body) == {"full_name"}


async def test_a_user_changes_their_password(client: httpx2.AsyncClient, alice: Account) -> None:
    headers = await bearer(client, "alice")

    response = await client.post(
        f"{ME}/password",
        json={"current_password": alice.password, "new_password": "Fr3shPassword"},
        headers=headers,
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    await bearer(client, "alice", "Fr3shPassword")
    old = await client.post(LOGIN, data={"username": "alice", "password": alice.password})
    assert_problem(old, 401)


async def test_changing_the_password_needs_the_current_one(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    headers = await bearer(client, "alice")

    response = await client.post(
        f"{ME}/password",
        json={"current_password": "Wr0ngGuess", "new_password": "Fr3shPassword"},
        headers=headers,
    )

    # 422 on the field, not 401: the bearer token is fine, and a client must not sign out.
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "current_password"]
    assert_no_secrets(response, "Wr0ngGuess", "Fr3shPassword")
    await bearer(client, "alice", alice.password)


@pytest.mark.parametrize("new_password", ["Zq9xw", "zq9-no-upper-case", "Zq-No-Digits"])
async def test_a_weak_new_password_is_refused_without_being_echoed(
    client: httpx2.AsyncClient, alice: Account, new_password: str
) -> None:
    response = await client.post(
        f"{ME}/password",
        json={"current_password": alice.password, "new_password": new_password},
        headers=await bearer(client, "alice"),
    )

    body = assert_problem(response, 422)
    assert error_fields(body) == {"new_password"}
    assert_no_secrets(response, new_password)
    await bearer(client, "alice", alice.password)


# -- /api/users/{id} -------------------------------------------------------------------------


async def test_a_user_reads_their_own_account_by_id(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    response = await client.get(f"{USERS}{alice.id}", headers=await bearer(client, "alice"))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert_no_secrets(response)


async def test_a_user_cannot_read_another_account(
    client: httpx2.AsyncClient, alice: Account, bob: Account
) -> None:
    response = await client.get(f"{USERS}{bob.id}", headers=await bearer(client, "alice"))
    assert_problem(response, 403)


async def test_an_admin_reads_any_account(
    client: httpx2.AsyncClient, staff: Account, bob: Account
) -> None:
    response = await client.get(f"{USERS}{bob.id}", headers=await bearer(client, "staffer"))
    assert response.json()["username"] == "bob"


async def test_reading_a_missing_account_is_not_found(
    client: httpx2.AsyncClient, staff: Account
) -> None:
    response = await client.get(f"{USERS}424242", headers=await bearer(client, "staffer"))
    assert_problem(response, 404)


@pytest.mark.parametrize("user_id", ["abc", "1.5", "99999999999999999999", "-99999999999999999999"])
async def test_a_user_id_that_is_not_a_storable_integer_is_invalid(
    client: httpx2.AsyncClient, staff: Account, user_id: str
) -> None:
    headers = await bearer(client, "staffer")
    for response in (
        await client.get(f"{USERS}{user_id}", headers=headers),
        await client.patch(f"{USERS}{user_id}", json={"full_name": "X"}, headers=headers),
        await client.delete(f"{USERS}{user_id}", headers=headers),
    ):
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["path", "user_id"]


async def test_reading_by_id_without_a_token_is_unauthorized(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    assert_problem(await client.get(f"{USERS}{alice.id}"), 401)


async def test_changing_or_deleting_a_user_is_forbidden_to_ordinary_users(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, bob: Account
) -> None:
    headers = await bearer(client, "alice")

    for target in (alice, bob):
        patch = await client.patch(f"{USERS}{target.id}", json={"full_name": "X"}, headers=headers)
        assert_problem(patch, 403)
        assert_problem(await client.delete(f"{USERS}{target.id}", headers=headers), 403)
    assert await count_users(office) == 2


async def test_changing_or_deleting_a_user_without_a_token_is_unauthorized(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    assert_problem(await client.patch(f"{USERS}{alice.id}", json={"full_name": "X"}), 401)
    assert_problem(await client.delete(f"{USERS}{alice.id}"), 401)


async def test_staff_deactivates_an_ordinary_account_which_then_cannot_sign_in(
    client: httpx2.AsyncClient, staff: Account, bob: Account
) -> None:
    bob_headers = await bearer(client, "bob")

    response = await client.patch(
        f"{USERS}{bob.id}", json={"is_active": False}, headers=await bearer(client, "staffer")
    )

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert_no_secrets(response)
    assert_problem(await client.get(ME, headers=bob_headers), 401)
    login = await client.post(LOGIN, data={"username": "bob", "password": bob.password})
    assert_problem(login, 401)


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
async def test_staff_cannot_grant_staff_or_superuser(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account, bob: Account, flag: str
) -> None:
    response = await client.patch(
        f"{USERS}{bob.id}", json={flag: True}, headers=await bearer(client, "staffer")
    )

    assert_problem(response, 403)
    stored = await load(office, bob.id)
    assert stored is not None and not getattr(stored, flag)


async def test_staff_cannot_touch_a_superuser(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account, superuser: Account
) -> None:
    headers = await bearer(client, "staffer")

    patch = await client.patch(
        f"{USERS}{superuser.id}", json={"full_name": "Hijacked"}, headers=headers
    )
    delete = await client.delete(f"{USERS}{superuser.id}", headers=headers)

    assert_problem(patch, 403)
    assert_problem(delete, 403)
    stored = await load(office, superuser.id)
    assert stored is not None and stored.full_name is None


async def test_staff_status_alone_opens_nothing_the_users_view_permission_opens_the_list(
    client: httpx2.AsyncClient, superuser: Account, bob: Account
) -> None:
    root = await bearer(client, "root")
    response = await client.patch(f"{USERS}{bob.id}", json={"is_staff": True}, headers=root)
    assert response.status_code == 200, response.text
    assert response.json()["is_staff"] is True
    assert_problem(await client.get(USERS, headers=await bearer(client, "bob")), 403)

    granted = await client.put(
        f"{USERS}{bob.id}/access", json={"permissions": ["users.view"]}, headers=root
    )

    assert granted.status_code == 200, granted.text
    assert granted.json()["effective"] == ["users.view"]
    listing = await client.get(USERS, headers=await bearer(client, "bob"))
    assert listing.status_code == 200


async def test_a_superuser_makes_another_superuser(
    client: httpx2.AsyncClient, superuser: Account, bob: Account
) -> None:
    response = await client.patch(
        f"{USERS}{bob.id}", json={"is_superuser": True}, headers=await bearer(client, "root")
    )
    assert response.json()["is_superuser"] is True


async def test_null_fields_in_an_admin_update_leave_the_account_as_it_is(
    client: httpx2.AsyncClient, superuser: Account, bob: Account
) -> None:
    nulls = {"email": None, "username": None, "is_active": None, "is_staff": None}
    response = await client.patch(
        f"{USERS}{bob.id}",
        json={**nulls, "is_superuser": None},
        headers=await bearer(client, "root"),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["username"]) == ("bob@example.com", "bob")
    assert (body["is_active"], body["is_staff"], body["is_superuser"]) == (True, False, False)


async def test_an_admin_update_that_takes_a_username_is_a_conflict(
    client: httpx2.AsyncClient, staff: Account, alice: Account, bob: Account
) -> None:
    response = await client.patch(
        f"{USERS}{bob.id}", json={"username": "ALICE"}, headers=await bearer(client, "staffer")
    )
    body = assert_problem(response, 409)
    assert body["errors"][0]["loc"] == ["body", "username"]


async def test_updating_a_missing_user_is_not_found(
    client: httpx2.AsyncClient, staff: Account
) -> None:
    response = await client.patch(
        f"{USERS}424242", json={"full_name": "X"}, headers=await bearer(client, "staffer")
    )
    assert_problem(response, 404)


async def test_an_admin_update_with_an_unknown_field_is_invalid(
    client: httpx2.AsyncClient, superuser: Account, bob: Account
) -> None:
    response = await client.patch(
        f"{USERS}{bob.id}",
        json={"hashed_password": "x", "password": "Zq9-not-here"},
        headers=await bearer(client, "root"),
    )
    body = assert_problem(response, 422)
    assert error_fields(body) == {"hashed_password", "password"}
    assert "Zq9-not-here" not in response.text


@pytest.mark.parametrize("change", [{"is_superuser": False}, {"is_active": False}])
async def test_last_superuser_cannot_be_demoted_or_deactivated(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, change: dict[str, bool]
) -> None:
    response = await client.patch(
        f"{USERS}{superuser.id}", json=change, headers=await bearer(client, "root")
    )

    body = assert_problem(response, 409)
    assert "last active superuser" in body["detail"]
    stored = await load(office, superuser.id)
    assert stored is not None and stored.is_superuser and stored.is_active


async def test_last_superuser_cannot_be_deleted(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    response = await client.delete(f"{USERS}{superuser.id}", headers=await bearer(client, "root"))

    assert_problem(response, 409)
    assert await load(office, superuser.id) is not None


async def test_with_two_superusers_one_can_be_demoted_but_not_the_other(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    second = await make_user(office, "root2", is_staff=True, is_superuser=True)
    headers = await bearer(client, "root")

    first = await client.patch(f"{USERS}{second.id}", json={"is_superuser": False}, headers=headers)
    then = await client.patch(
        f"{USERS}{superuser.id}", json={"is_superuser": False}, headers=headers
    )

    assert first.status_code == 200, first.text
    assert first.json()["is_superuser"] is False
    assert_problem(then, 409)


async def test_a_superuser_deletes_another_superuser(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    second = await make_user(office, "root2", is_superuser=True)

    response = await client.delete(f"{USERS}{second.id}", headers=await bearer(client, "root"))

    assert response.status_code == 204
    assert await in_trash(office, User, second.id)
    assert_problem(
        await client.get(f"{USERS}{second.id}", headers=await bearer(client, "root")), 404
    )


async def test_staff_deletes_an_ordinary_account_with_its_posts(
    client: httpx2.AsyncClient, office: BackOffice, staff: Account, bob: Account
) -> None:
    bob_headers = await bearer(client, "bob")
    await client.post("/api/posts/", json={"title": "Bob's"}, headers=bob_headers)
    headers = await bearer(client, "staffer")

    response = await client.delete(f"{USERS}{bob.id}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{USERS}{bob.id}", headers=headers), 404)
    assert_problem(await client.get(ME, headers=bob_headers), 401)
    async with office.session() as session:
        # In the trash the account keeps its posts (a restore brings both back); its purge
        # takes them with it, by the foreign key's ON DELETE CASCADE.
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
    await purge(office, "users", bob.id)
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 0


async def test_deleting_a_missing_user_is_not_found(
    client: httpx2.AsyncClient, staff: Account
) -> None:
    response = await client.delete(f"{USERS}424242", headers=await bearer(client, "staffer"))
    assert_problem(response, 404)
