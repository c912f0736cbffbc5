"""The admin's lists at any size, checked small: a bounded count that says "more than", keyset
prev/next links that neither skip nor repeat a row, a deep page equal by offset and by cursor,
relation choices fetched on demand, and a bulk action over every row a filter matches.

The bounds are lowered for the test (``list_count_cap``); the bench measures the real sizes."""

import re

import httpx2
import pytest

from backoffice import BackOffice
from backoffice.admin.users import UserAdmin
from backoffice.models import User
from backoffice.services.users import LAST_SUPERUSER
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import Account, bearer, make_user

_PK = re.compile(r'<input type="hidden" value="(\d+)">\s*<input class="form-check-input')
_NEXT = re.compile(r'<a class="page-link" href="([^"#][^"]*)">\s*next', re.S)
_PREV = re.compile(
    r'<a class="page-link" href="([^"#][^"]*)">\s*<i class="fa-solid fa-chevron-left">'
)
USERS = 23


@pytest.fixture
async def many(office: BackOffice, superuser: Account) -> list[int]:
    """root plus ``USERS`` users named ``member…``: every key, in key order."""
    ids = [superuser.id]
    for number in range(USERS):
        ids.append((await make_user(office, f"member{number:02d}")).id)
    return ids


def pks(html: str) -> list[int]:
    return [int(pk) for pk in _PK.findall(html)]


def link(pattern: re.Pattern[str], html: str) -> str | None:
    match = pattern.search(html)
    return match.group(1).replace("&amp;", "&") if match else None


async def walk(client: httpx2.AsyncClient, url: str) -> tuple[list[list[int]], list[str]]:
    """Follow the "next" links from ``url``: each page's keys and address."""
    pages, urls = [], []
    next_url: str | None = url
    while next_url is not None:
        page = await client.get(next_url)
        assert page.status_code == 200, page.text
        pages.append(pks(page.text))
        urls.append(next_url)
        next_url = link(_NEXT, page.text)
        assert len(pages) < 50
    return pages, urls


async def test_a_list_past_its_bound_says_more_than(
    signed_in: AdminBrowser, many: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserAdmin, "list_count_cap", 10)
    page = await signed_in.client.get("/admin/user/list", params={"pageSize": 10})
    assert "Showing 1 to 10 of more than 10 items" in page.text
    dashboard = await signed_in.client.get("/admin/")
    assert re.search(r'data-count="Users".*?more than 10</div>', dashboard.text, re.S)
    monkeypatch.setattr(UserAdmin, "list_count_cap", 100)
    page = await signed_in.client.get("/admin/user/list", params={"pageSize": 10})
    assert f"Showing 1 to 10 of {len(many)} items" in page.text
    search = await signed_in.client.get("/admin/user/list", params={"search": "member07"})
    assert "Showing 1 to 1 of 1 items" in search.text
    # A searched list counts to a lower bound of its own (each counted row is a text match).
    monkeypatch.setattr(UserAdmin, "search_count_cap", 12)
    params = {"search": "member", "pageSize": "10"}
    search = await signed_in.client.get("/admin/user/list", params=params)
    assert "Showing 1 to 10 of more than 12 items" in search.text


@pytest.mark.parametrize("cap", [10, 100])
@pytest.mark.parametrize(
    "sort", [{}, {"sortBy": "created_at", "sort": "desc"}, {"sortBy": "username", "sort": "asc"}]
)
async def test_next_links_walk_every_row_once_and_prev_links_walk_back(
    signed_in: AdminBrowser,
    many: list[int],
    monkeypatch: pytest.MonkeyPatch,
    sort: dict[str, str],
    cap: int,
) -> None:
    monkeypatch.setattr(UserAdmin, "list_count_cap", cap)
    client = signed_in.client
    first = str(httpx2.URL("/admin/user/list", params={"pageSize": 10, **sort}))
    pages, urls = await walk(client, first)
    assert [len(p) for p in pages] == [10, 10, 4]
    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == many  # every row once
    assert "after=" in urls[1] and "after=" in urls[2]  # by keyset, not offset
    # Back from the last page by the "prev" links: the same pages, in reverse.
    back: list[list[int]] = []
    url: str | None = urls[-1]
    while url is not None:
        page = await client.get(url)
        back.append(pks(page.text))
        url = link(_PREV, page.text)
        assert len(back) < 10
    assert back == pages[::-1]
    # A deep page by number (offset) holds the rows the cursor reached.
    page3 = await client.get(first + "&page=3")
    assert pks(page3.text) == pages[2]


async def test_a_malformed_cursor_is_a_400(signed_in: AdminBrowser, many: list[int]) -> None:
    for cursor in ("nonsense", "W10", "WyJ4IiwxXQ", "W251bGwsMV0"):
        page = await signed_in.client.get("/admin/user/list", params={"after": cursor})
        assert page.status_code == 400, cursor


async def test_the_post_form_does_not_list_every_user(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, many: list[int], alice: Account
) -> None:
    created = await client.post(
        "/api/posts/", json={"title": "Draft", "body": "..."}, headers=await bearer(client, "alice")
    )
    page = await signed_in.client.get(f"/admin/post/edit/{created.json()['id']}")
    assert page.status_code == 200
    # The author is the service's to set (the writer), not a form field: no user is read into
    # the page. (A relation that is a field is searched on demand: test_relation_choices.)
    assert 'name="author' not in page.text
    assert "member" not in page.text and "<option" not in page.text


async def test_a_bulk_action_over_every_matching_row(
    signed_in: AdminBrowser, office: BackOffice, many: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backoffice.admin.bulk_matching.BATCH_SIZE", 4)  # several batches
    list_page = await signed_in.client.get("/admin/user/list", params={"search": "member1"})
    links = re.findall(r'href="([^"]+)" class="bulk-matching-link">Deactivate<', list_page.text)
    assert links, "the list offers the action over every matching row"
    url = links[0].replace("&amp;", "&")
    confirm = await signed_in.client.get(url)
    assert confirm.status_code == 200
    assert '<strong id="bulk-matching-count">10</strong>' in confirm.text  # member10..member19
    result = await signed_in.client.post(url, data={"csrf_token": csrf_token(confirm.text)})
    assert result.status_code == 200, result.text
    assert "Deactivated: 10 of 10." in result.text
    async with office.session() as session:
        users = (await session.exec(User.__table__.select())).all()  # type: ignore[call-overload]
        active = {row.username: row.is_active for row in users}
    for number in range(USERS):
        name = f"member{number:02d}"
        assert active[name] is (not name.startswith("member1")), name


async def test_a_bulk_action_over_matching_rows_reports_the_refused_ones(
    signed_in: AdminBrowser, many: list[int], superuser: Account
) -> None:
    url = "/admin/user/bulk/deactivate_selected?all=1&search=root"
    confirm = await signed_in.client.get(url)
    result = await signed_in.client.post(url, data={"csrf_token": csrf_token(confirm.text)})
    assert "Deactivated: 0 of 1." in result.text and "1 refused" in result.text
    assert f'data-pk="{superuser.id}" data-outcome="refused"' in result.text
    assert LAST_SUPERUSER.split(":")[0] in result.text.replace("&#39;", "'")


async def test_a_bulk_action_over_too_many_rows_asks_to_narrow_them(
    signed_in: AdminBrowser, many: list[int], monkeypatch: pytest.MonkeyPatch, office: BackOffice
) -> None:
    monkeypatch.setattr(UserAdmin, "bulk_max_matching", 5)
    url = "/admin/user/bulk/delete_selected?all=1"
    confirm = await signed_in.client.get(url)
    assert confirm.status_code == 400 and "narrow the search" in confirm.text
    token = csrf_token((await signed_in.client.get("/admin/user/list")).text)
    refused = await signed_in.client.post(url, data={"csrf_token": token})
    assert refused.status_code == 400
    async with office.session() as session:
        assert await session.get(User, many[-1]) is not None  # nothing deleted
