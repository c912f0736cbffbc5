"""Each object's history page: its audit entries, newest first, with field changes and door."""

import re

import httpx2
import pytest

from backoffice.admin.audit import AuditEntryAdmin
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account, bearer

_ENTRY = re.compile(r'<tr class="history-entry".*?</tr>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def entries(html: str) -> list[str]:
    """Each history row as its visible text, whitespace collapsed."""
    return [" ".join(_TAGS.sub(" ", row).split()) for row in _ENTRY.findall(html)]


async def post_written_through_the_api(client: httpx2.AsyncClient) -> int:
    created = await client.post(
        "/api/posts/",
        json={"title": "Draft", "body": "Text"},
        headers=await bearer(client, "alice"),
    )
    assert created.status_code == 201, created.text
    post_id: int = created.json()["id"]
    return post_id


async def test_history_lists_api_and_admin_changes_newest_first(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    post_id = await post_written_through_the_api(client)
    response = await signed_in.submit(
        f"/admin/post/edit/{post_id}", {"title": "Edited", "body": "Text", "published": "y"}
    )
    assert response.status_code == 302, form_error(response.text)

    page = await signed_in.client.get(f"/admin/post/history/{post_id}")
    assert page.status_code == 200
    update, create = entries(page.text)
    assert update.split()[2:5] == ["root", "admin", "update"]
    assert "title : Draft → Edited" in update
    assert "published : False → True" in update
    assert create.split()[2:5] == ["alice", "api", "create"]
    assert "title : — → Draft" in create


async def test_history_only_shows_this_objects_entries(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    first = await post_written_through_the_api(client)
    await post_written_through_the_api(client)
    page = await signed_in.client.get(f"/admin/post/history/{first}")
    assert len(entries(page.text)) == 1
    page = await signed_in.client.get(f"/admin/user/history/{alice.id}")
    (created,) = entries(page.text)
    assert "email : — → alice@example.com" in created
    assert "$argon2" not in page.text


async def test_details_and_edit_pages_link_to_the_history(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    post_id = await post_written_through_the_api(client)
    link = f'href="http://testserver/admin/post/history/{post_id}"'
    assert link in (await signed_in.client.get(f"/admin/post/details/{post_id}")).text
    assert link in (await signed_in.client.get(f"/admin/post/edit/{post_id}")).text


async def test_history_of_an_unknown_object_is_not_found(signed_in: AdminBrowser) -> None:
    for pk in ("424242", "abc", "99999999999999999999999", "-1"):
        response = await signed_in.client.get(f"/admin/post/history/{pk}")
        assert response.status_code == 404, pk
    assert (await signed_in.client.get("/admin/nothing/history/1")).status_code == 404


async def test_the_audit_log_itself_has_no_history(signed_in: AdminBrowser, alice: Account) -> None:
    assert (await signed_in.client.get("/admin/audit-entry/history/1")).status_code == 404


async def test_history_needs_the_right_to_read_the_audit_log(
    signed_in: AdminBrowser,
    client: httpx2.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_id = await post_written_through_the_api(client)
    monkeypatch.setattr(AuditEntryAdmin, "allows", lambda self, request, action: False)

    assert (await signed_in.client.get(f"/admin/post/history/{post_id}")).status_code == 403
    details = await signed_in.client.get(f"/admin/post/details/{post_id}")
    assert details.status_code == 200
    assert "/history/" not in details.text


async def test_history_needs_signing_in(client: httpx2.AsyncClient, alice: Account) -> None:
    response = await client.get(f"/admin/user/history/{alice.id}")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["location"]


async def test_a_long_history_is_paged(
    signed_in: AdminBrowser,
    client: httpx2.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("backoffice.admin.history.PAGE_SIZE", 2)
    post_id = await post_written_through_the_api(client)
    headers = await bearer(client, "alice")
    for title in ("Second", "Third"):
        changed = await client.patch(
            f"/api/posts/{post_id}", json={"title": title}, headers=headers
        )
        assert changed.status_code == 200, changed.text

    first = await signed_in.client.get(f"/admin/post/history/{post_id}")
    assert [row.split()[4] for row in entries(first.text)] == ["update", "update"]
    assert "Second → Third" in entries(first.text)[0]
    assert "page=2" in first.text
    second = await signed_in.client.get(f"/admin/post/history/{post_id}", params={"page": "2"})
    (created,) = entries(second.text)
    assert created.split()[4] == "create"
    assert "page=1" in second.text
    for page in ("0", "abc", "9" * 5000):
        response = await signed_in.client.get(f"/admin/post/history/{post_id}?page={page}")
        assert response.status_code == 200, page
