"""Hostile input: NUL characters, lone surrogates and 10,000-character strings in every text
field of registration, profile updates and posts; paging out of range; bodies over the size
limit. Each is refused as invalid input (422; 413 for size) or stored exactly as sent and read
back equal; never a server error. (PostgreSQL cannot store NUL where SQLite can: the API refuses
it on both, so both behave alike.)"""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from conftest import Account, bearer
from sqlalchemy import func
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import User

USERS = "/api/users/"
ME = "/api/users/me"
POSTS = "/api/posts/"
LOGIN = "/api/auth/login"
SMALL_LIMIT = 4096

TEN_THOUSAND = ("Zürich 𝄞 naïve " * 1000)[:10_000]


def with_nul(valid: str) -> str:
    return valid[:2] + "\x00" + valid[2:]


def with_lone_surrogate(valid: str) -> str:
    return valid[:2] + "\ud800" + valid[2:]


def ten_thousand_characters(valid: str) -> str:
    if "@" in valid:  # still shaped like an address, only far too long
        return "a" * (10_000 - len("@example.com")) + "@example.com"
    if valid.isalnum():
        return ("Abc123" * 2000)[:10_000]
    return TEN_THOUSAND


HOSTILE = {
    "a NUL character": with_nul,
    "a lone surrogate": with_lone_surrogate,
    "10,000 characters": ten_thousand_characters,
}

REGISTRATION = {
    "email": "new@example.com",
    "username": "newcomer",
    "full_name": "New Comer",
    "password": "N3wcomerPass",
}
PROFILE = {"email": "alice.new@example.com", "username": "alicenew", "full_name": "Alice New"}
POST = {"title": "A title", "body": "Some text."}


def send_json(payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The body as JSON text with every non-ASCII character escaped: a lone surrogate travels as
    the six characters ``\\ud800``, which is valid JSON (a decoder makes it a lone surrogate)."""
    return {
        "content": json.dumps(payload).encode("ascii"),
        "headers": {"Content-Type": "application/json", **(headers or {})},
    }


def stored_form(field: str, value: str) -> str:
    """How the API keeps a value it accepts: addresses and usernames are trimmed and lowercased."""
    return value.strip().lower() if field in ("email", "username") else value


def assert_refused_or_kept(response: httpx2.Response, field: str, accepted: int) -> bool:
    """True when the value was accepted (and must now be read back); False when it was refused
    as invalid input, naming the field. Anything else (a 500 above all) fails."""
    assert response.status_code in (accepted, 422), response.text[:500]
    if response.status_code == accepted:
        return True
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in {str(error["loc"][-1]) for error in problem["errors"]}, problem
    return False


@pytest.fixture
async def admin_headers(client: httpx2.AsyncClient, superuser: Account) -> dict[str, str]:
    return await bearer(client, "root")


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", REGISTRATION)
async def test_registration_refuses_or_keeps_hostile_text_in_every_field(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], field: str, hostile: str
) -> None:
    value = HOSTILE[hostile](REGISTRATION[field])

    response = await client.post(USERS, **send_json({**REGISTRATION, field: value}))

    if assert_refused_or_kept(response, field, accepted=201):
        if field == "password":
            login = {"username": REGISTRATION["username"], "password": value}
            assert (await client.post(LOGIN, data=login)).status_code == 200
        else:
            read = await client.get(f"{USERS}{response.json()['id']}", headers=admin_headers)
            assert read.json()[field] == stored_form(field, value)


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", PROFILE)
async def test_a_profile_update_refuses_or_keeps_hostile_text_in_every_field(
    client: httpx2.AsyncClient, alice: Account, field: str, hostile: str
) -> None:
    headers = await bearer(client, "alice")
    value = HOSTILE[hostile](PROFILE[field])

    response = await client.patch(ME, **send_json({field: value}, headers))

    if assert_refused_or_kept(response, field, accepted=200):
        read = await client.get(ME, headers=headers)
        assert read.json()[field] == stored_form(field, value)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_a_password_change_refuses_or_keeps_a_hostile_new_password(
    client: httpx2.AsyncClient, alice: Account, hostile: str
) -> None:
    headers = await bearer(client, "alice")
    value = HOSTILE[hostile]("Fr3shPassword")
    change = {"current_password": alice.password, "new_password": value}

    response = await client.post(f"{ME}/password", **send_json(change, headers))

    if assert_refused_or_kept(response, "new_password", accepted=204):
        login = {"username": "alice", "password": value}
        assert (await client.post(LOGIN, data=login)).status_code == 200


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", POST)
async def test_a_post_refuses_or_keeps_hostile_text_in_every_field(
    client: httpx2.AsyncClient, alice: Account, field: str, hostile: str
) -> None:
    headers = await bearer(client, "alice")
    value = HOSTILE[hostile](POST[field])

    created = await client.post(POSTS, **send_json({**POST, field: value}, headers))

    if assert_refused_or_kept(created, field, accepted=201):
        read = await client.get(f"{POSTS}{created.json()['id']}", headers=headers)
        assert read.json()[field] == value

    # The same through an update of an existing post.
    existing = await client.post(POSTS, json=POST, headers=headers)
    post_url = f"{POSTS}{existing.json()['id']}"
    updated = await client.patch(post_url, **send_json({field: value}, headers))
    if assert_refused_or_kept(updated, field, accepted=200):
        assert (await client.get(post_url, headers=headers)).json()[field] == value


async def test_a_ten_thousand_character_post_body_is_kept_exactly(
    client: httpx2.AsyncClient, alice: Account
) -> None:
    headers = await bearer(client, "alice")

    created = await client.post(
        POSTS, json={"title": "Long", "body": TEN_THOUSAND}, headers=headers
    )

    assert created.status_code == 201, created.text[:500]
    read = await client.get(f"{POSTS}{created.json()['id']}", headers=headers)
    assert read.json()["body"] == TEN_THOUSAND


@pytest.mark.parametrize("path", [USERS, f"{ME}/password", POSTS])
async def test_a_body_that_is_not_utf8_is_invalid_input(
    client: httpx2.AsyncClient, alice: Account, path: str
) -> None:
    raw = b'{"title": "Latin-1 caf\xe9 and a stray \xff byte", "body": "x"}'

    response = await client.post(
        path,
        content=raw,
        headers={"Content-Type": "application/json", **await bearer(client, "alice")},
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body"]


# -- paging out of range ---------------------------------------------------------------------

OUT_OF_RANGE = [
    {"skip": "-1"},
    {"skip": "1000000001"},
    {"skip": "9223372036854775808"},  # past a signed 64-bit integer
    {"skip": "-9223372036854775809"},
    {"skip": "1e3"},
    {"limit": "0"},
    {"limit": "101"},
    {"limit": "18446744073709551616"},
    {"limit": "-1"},
    {"limit": "2.5"},
    {"limit": ""},
]


@pytest.mark.parametrize(
    "params", OUT_OF_RANGE, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
@pytest.mark.parametrize("path", [USERS, POSTS])
async def test_paging_out_of_range_is_invalid_input(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=admin_headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (field,) = params
    assert [error["loc"] for error in response.json()["errors"]] == [["query", field]]


# -- bodies over the size limit --------------------------------------------------------------


@pytest.fixture
async def limited(office: BackOffice) -> AsyncIterator[httpx2.AsyncClient]:
    """The app with a request body limit of 4 KiB (over the same database)."""
    settings = office.settings.model_copy(update={"max_request_body_bytes": SMALL_LIMIT})
    limited_office = BackOffice(settings)
    transport = httpx2.ASGITransport(app=limited_office.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await limited_office.dispose()


def registration_of_size(size: int) -> bytes:
    body = json.dumps({**REGISTRATION, "full_name": ""}).encode()
    padded = json.dumps({**REGISTRATION, "full_name": "x" * (size - len(body))}).encode()
    assert len(padded) == size
    return padded


async def count_users(office: BackOffice) -> int:
    async with office.session() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


def assert_too_large(response: httpx2.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 413
    assert problem["instance"] == response.request.url.path
    assert str(SMALL_LIMIT) in problem["detail"]


async def test_a_body_over_the_limit_is_refused_by_its_content_length(
    limited: httpx2.AsyncClient, office: BackOffice
) -> None:
    response = await limited.post(
        USERS,
        content=registration_of_size(SMALL_LIMIT + 1),
        headers={"Content-Type": "application/json"},
    )

    assert "content-length" in response.request.headers
    assert_too_large(response)
    assert await count_users(office) == 0


async def test_a_streamed_body_over_the_limit_is_refused_while_it_arrives(
    limited: httpx2.AsyncClient, office: BackOffice
) -> None:
    chunks_sent = 0
    data = registration_of_size(SMALL_LIMIT * 4)

    async def stream() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for start in range(0, len(data), 1024):
            chunks_sent += 1
            yield data[start : start + 1024]

    response = await limited.post(
        USERS, content=stream(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(response)
    assert await count_users(office) == 0


async def test_a_body_at_the_limit_is_read(limited: httpx2.AsyncClient, office: BackOffice) -> None:
    response = await limited.post(
        USERS,
        content=registration_of_size(SMALL_LIMIT),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text  # read and judged: full_name is too long
    assert response.json()["errors"][0]["loc"] == ["body", "full_name"]
