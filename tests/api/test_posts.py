"""/api/posts: posts for signed-in users; drafts belong to their author and the admins."""

from datetime import datetime
from typing import Any

import httpx2
import pytest
from conftest import Account, assert_problem, bearer, in_trash

from backoffice import BackOffice
from backoffice.models import Post
from backoffice.services.base import COUNT_CAP

POSTS = "/api/posts/"
POST_FIELDS = {"id", "title", "body", "published", "author_id", "created_at", "updated_at"}


async def write(
    client: httpx2.AsyncClient, headers: dict[str, str], title: str, *, published: bool = False
) -> dict[str, Any]:
    response = await client.post(
        POSTS, json={"title": title, "body": "Text.", "published": published}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def load(office: BackOffice, post_id: int) -> Post | None:
    async with office.session() as session:
        post: Post | None = await session.get(Post, post_id)
    return post


async def titles(client: httpx2.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(POSTS, params={"sort": "title", **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [post["title"] for post in response.json()["items"]]


@pytest.fixture
async def alice_headers(client: httpx2.AsyncClient, alice: Account) -> dict[str, str]:
    return await bearer(client, "alice")


@pytest.fixture
async def bob_headers(client: httpx2.AsyncClient, bob: Account) -> dict[str, str]:
    return await bearer(client, "bob")


@pytest.fixture
async def staff_headers(client: httpx2.AsyncClient, staff: Account) -> dict[str, str]:
    return await bearer(client, "staffer")


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", POSTS),
        ("POST", POSTS),
        ("GET", f"{POSTS}1"),
        ("PATCH", f"{POSTS}1"),
        ("DELETE", f"{POSTS}1"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
async def test_every_post_route_needs_a_valid_token(
    client: httpx2.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    json = {"title": "X"} if method in ("POST", "PATCH") else None

    response = await client.request(method, path, json=json, headers=headers)

    assert_problem(response, 401)


# -- creating --------------------------------------------------------------------------------


async def test_a_user_writes_a_post_in_their_own_name(
    client: httpx2.AsyncClient, alice: Account, alice_headers: dict[str, str]
) -> None:
    response = await client.post(
        POSTS, json={"title": "First", "body": "Hello."}, headers=alice_headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == POST_FIELDS
    assert (body["title"], body["body"], body["published"], body["author_id"]) == (
        "First",
        "Hello.",
        False,
        alice.id,
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({}, "title"),
        ({"title": "Ok", "published": "perhaps"}, "published"),
        ({"title": "Ok", "author_id": 1}, "author_id"),
        ({"title": "Ok", "id": 7}, "id"),
        ({"title": "Ok", "body": "nul \x00 inside"}, "body"),
    ],
)
async def test_an_invalid_post_is_refused(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    payload: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(POSTS, json=payload, headers=alice_headers)

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", field]]
    listing = await client.get(POSTS, headers=alice_headers)
    assert listing.json()["total"] == 0


# -- reading ---------------------------------------------------------------------------------


async def test_a_draft_is_not_found_for_other_users(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    draft = await write(client, alice_headers, "Draft")

    response = await client.get(f"{POSTS}{draft['id']}", headers=bob_headers)

    assert_problem(response, 404)


async def test_a_draft_is_visible_to_its_author_and_admins(
    client: httpx2.AsyncClient,
    superuser: Account,
    alice_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    draft = await write(client, alice_headers, "Draft")
    root_headers = await bearer(client, "root")

    for headers in (alice_headers, staff_headers, root_headers):
        response = await client.get(f"{POSTS}{draft['id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == draft


async def test_a_published_post_is_visible_to_other_users(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    post = await write(client, alice_headers, "Public", published=True)

    response = await client.get(f"{POSTS}{post['id']}", headers=bob_headers)

    assert response.json() == post


@pytest.mark.parametrize(
    ("post_id", "status"),
    [("424242", 404), ("0", 422), ("-1", 422), ("99999999999999999999", 422), ("one", 422)],
)
async def test_reading_a_post_that_cannot_exist_is_a_client_error(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], post_id: str, status: int
) -> None:
    response = await client.get(f"{POSTS}{post_id}", headers=alice_headers)
    assert_problem(response, status)


async def test_the_list_shows_published_posts_and_ones_own_drafts(
    client: httpx2.AsyncClient,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    await write(client, alice_headers, "Alice draft")
    await write(client, alice_headers, "Alice public", published=True)
    await write(client, bob_headers, "Bob draft")

    assert await titles(client, bob_headers) == ["Alice public", "Bob draft"]
    assert await titles(client, alice_headers) == ["Alice draft", "Alice public"]
    assert await titles(client, staff_headers) == ["Alice draft", "Alice public", "Bob draft"]


async def test_the_list_is_a_page_with_a_total(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    for title in ["c", "a", "e", "b", "d"]:
        await write(client, alice_headers, title, published=True)
    await write(client, alice_headers, "hidden")

    response = await client.get(
        POSTS, params={"sort": "-title", "skip": 1, "limit": 2}, headers=bob_headers
    )

    body = response.json()
    assert set(body) == {"items", "total", "total_is_exact", "skip", "limit"}
    assert [p["title"] for p in body["items"]] == ["d", "c"]
    assert (body["total"], body["total_is_exact"], body["skip"], body["limit"]) == (5, True, 1, 2)
    assert all(set(item) == POST_FIELDS for item in body["items"])


async def test_a_long_list_reports_a_lower_bound_past_the_count_cap(
    client: httpx2.AsyncClient, office: BackOffice, alice: Account, alice_headers: dict[str, str]
) -> None:
    """The count stops COUNT_CAP rows past the end of the page: a list longer than that says
    "at least" (total_is_exact false) and gives the bound; one no longer than it is exact."""
    limit = 50
    rows = limit + COUNT_CAP + 1
    async with office.session() as session:
        session.add_all(
            Post(title=f"post {i}", published=True, author_id=alice.id) for i in range(rows)
        )

    first = (await client.get(POSTS, params={"limit": limit}, headers=alice_headers)).json()
    further = (
        await client.get(POSTS, params={"limit": limit, "skip": 1}, headers=alice_headers)
    ).json()
    found = (await client.get(POSTS, params={"search": "post 2"}, headers=alice_headers)).json()

    assert (first["total"], first["total_is_exact"]) == (limit + COUNT_CAP, False)
    assert len(first["items"]) == limit
    assert (further["total"], further["total_is_exact"]) == (rows, True)
    matching = sum(1 for i in range(rows) if f"post {i}".startswith("post 2"))
    assert 0 < matching < limit + COUNT_CAP
    assert (found["total"], found["total_is_exact"]) == (matching, True)


async def test_the_list_is_newest_first_by_default(
    client: httpx2.AsyncClient, alice_headers: dict[str, str]
) -> None:
    for title in ["first", "second", "third"]:
        await write(client, alice_headers, title)

    response = await client.get(POSTS, headers=alice_headers)

    assert [p["title"] for p in response.json()["items"]] == ["third", "second", "first"]


async def test_the_list_filters_by_author_and_state(
    client: httpx2.AsyncClient,
    alice: Account,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    await write(client, alice_headers, "Alice draft")
    await write(client, alice_headers, "Alice public", published=True)
    await write(client, bob_headers, "Bob public", published=True)

    assert await titles(client, bob_headers, author_id=alice.id) == ["Alice public"]
    assert await titles(client, staff_headers, author_id=alice.id) == [
        "Alice draft",
        "Alice public",
    ]
    assert await titles(client, staff_headers, published="false") == ["Alice draft"]


async def test_search_takes_wildcards_literally(
    client: httpx2.AsyncClient, alice_headers: dict[str, str]
) -> None:
    for title in ["50% off", "500 reasons", "snake_case", "snakeXcase"]:
        await write(client, alice_headers, title)

    assert await titles(client, alice_headers, search="50%") == ["50% off"]
    assert await titles(client, alice_headers, search="Snake_") == ["snake_case"]
    assert await titles(client, alice_headers, search="_") == ["snake_case"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"skip": -1}, "skip"),
        ({"sort": "body"}, "sort"),
        ({"sort": "-author_id"}, "sort"),
        ({"search": "x" * 101}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"author_id": "99999999999999999999"}, "author_id"),
    ],
)
async def test_the_list_refuses_bad_parameters(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = await client.get(POSTS, params=params, headers=alice_headers)

    body = assert_problem(response, 422)
    assert [str(error["loc"][-1]) for error in body["errors"]] == [field]


# -- changing --------------------------------------------------------------------------------


async def test_the_author_changes_and_publishes_their_post(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    draft = await write(client, alice_headers, "Before")

    response = await client.patch(
        f"{POSTS}{draft['id']}", json={"title": "After", "published": True}, headers=alice_headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["body"], body["published"]) == ("After", "Text.", True)
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(draft["updated_at"])
    assert body["created_at"] == draft["created_at"]
    seen = await client.get(f"{POSTS}{draft['id']}", headers=bob_headers)
    assert seen.json()["title"] == "After"


async def test_null_fields_in_a_post_update_are_ignored(
    client: httpx2.AsyncClient, alice_headers: dict[str, str]
) -> None:
    post = await write(client, alice_headers, "Keep")

    response = await client.patch(
        f"{POSTS}{post['id']}",
        json={"title": None, "body": None, "published": None},
        headers=alice_headers,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["body"]) == ("Keep", "Text.")


@pytest.mark.parametrize(
    "payload", [{"author_id": 2}, {"title": ""}, {"published": "perhaps"}, {"created_at": "now"}]
)
async def test_an_invalid_post_update_is_refused(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    payload: dict[str, Any],
) -> None:
    post = await write(client, alice_headers, "Keep")

    response = await client.patch(f"{POSTS}{post['id']}", json=payload, headers=alice_headers)

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", next(iter(payload))]
    stored = await load(office, post["id"])
    assert stored is not None and stored.title == "Keep" and stored.author_id == post["author_id"]


async def test_another_user_cannot_change_a_published_post(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    post = await write(client, alice_headers, "Alice's", published=True)

    response = await client.patch(
        f"{POSTS}{post['id']}", json={"title": "Mine"}, headers=bob_headers
    )

    assert_problem(response, 403)
    stored = await load(office, post["id"])
    assert stored is not None and stored.title == "Alice's"


async def test_another_user_changing_a_draft_finds_nothing(
    client: httpx2.AsyncClient, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    draft = await write(client, alice_headers, "Secret")

    response = await client.patch(f"{POSTS}{draft['id']}", json={"title": "X"}, headers=bob_headers)

    assert_problem(response, 404)


async def test_an_admin_changes_anyones_post(
    client: httpx2.AsyncClient,
    alice: Account,
    alice_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    draft = await write(client, alice_headers, "Draft")

    response = await client.patch(
        f"{POSTS}{draft['id']}", json={"published": True}, headers=staff_headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["published"] is True
    assert response.json()["author_id"] == alice.id


async def test_changing_a_missing_post_is_not_found(
    client: httpx2.AsyncClient, staff_headers: dict[str, str]
) -> None:
    response = await client.patch(f"{POSTS}424242", json={"title": "X"}, headers=staff_headers)
    assert_problem(response, 404)


# -- deleting --------------------------------------------------------------------------------


async def test_the_author_deletes_their_post(
    client: httpx2.AsyncClient, alice_headers: dict[str, str]
) -> None:
    post = await write(client, alice_headers, "Gone soon")

    response = await client.delete(f"{POSTS}{post['id']}", headers=alice_headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{POSTS}{post['id']}", headers=alice_headers), 404)
    assert_problem(await client.delete(f"{POSTS}{post['id']}", headers=alice_headers), 404)


async def test_another_user_cannot_delete_a_published_post(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    post = await write(client, alice_headers, "Stays", published=True)

    response = await client.delete(f"{POSTS}{post['id']}", headers=bob_headers)

    assert_problem(response, 403)
    assert await load(office, post["id"]) is not None


async def test_another_user_deleting_a_draft_finds_nothing(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    draft = await write(client, alice_headers, "Stays")

    response = await client.delete(f"{POSTS}{draft['id']}", headers=bob_headers)

    assert_problem(response, 404)
    assert await load(office, draft["id"]) is not None


async def test_an_admin_deletes_anyones_post(
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    draft = await write(client, alice_headers, "Draft")

    response = await client.delete(f"{POSTS}{draft['id']}", headers=staff_headers)

    assert response.status_code == 204
    assert await in_trash(office, Post, draft["id"])
    assert_problem(await client.get(f"{POSTS}{draft['id']}", headers=staff_headers), 404)
