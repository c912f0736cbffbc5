"""Each object's history page: its audit entries, newest first, with field changes and door."""

import re

import httpx2
import pytest

from backoffice import BackOffice
from backoffice.admin.audit import AuditEntryAdmin
from backoffice.models import UserUpdate
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account, bearer, make_user, purge

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
    # "4 Dec 2026, 13:24 UTC", then who, door and action
    assert update.split()[5:9] == ["root", "(#1)", "admin", "update"]
    assert "Title : Draft → Edited" in update
    assert "Published : no → yes" in update
    assert create.split()[5:9] == ["alice", "(#2)", "api", "create"]
    assert "Title : — → Draft" in create


async def test_history_only_shows_this_objects_entries(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    first = await post_written_through_the_api(client)
    await post_written_through_the_api(client)
    page = await signed_in.client.get(f"/admin/post/history/{first}")
    assert len(entries(page.text)) == 1
    page = await signed_in.client.get(f"/admin/user/history/{alice.id}")
    (created,) = entries(page.text)
    assert "Email : — → alice@example.com" in created
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
    assert [row.split()[8] for row in entries(first.text)] == ["update", "update"]
    assert "Second → Third" in entries(first.text)[0]
    assert "page=2" in first.text
    second = await signed_in.client.get(f"/admin/post/history/{post_id}", params={"page": "2"})
    (created,) = entries(second.text)
    assert created.split()[8] == "create"
    assert "page=1" in second.text
    for page in ("0", "abc", "9" * 5000):
        response = await signed_in.client.get(f"/admin/post/history/{post_id}?page={page}")
        assert response.status_code == 200, page


async def test_who_is_the_account_by_id_not_the_name_it_had(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, office: BackOffice, alice: Account
) -> None:
    """A rename, a re-registered name or a deleted account cannot pass one person's changes
    off as another's."""
    post_id = await post_written_through_the_api(client)
    async with office.session() as session:
        users = office.users(session, Caller.operator("system"))
        await users.update(alice.id, UserUpdate(username="alicia"))
    impostor = await make_user(office, "alice", email="other-alice@example.com")

    (create,) = entries((await signed_in.client.get(f"/admin/post/history/{post_id}")).text)
    assert f"alicia (#{alice.id}, then alice) api create" in create
    listed = await signed_in.client.get("/admin/audit-entry/list", params={"search": "alice"})
    assert f"alicia (#{alice.id}, then alice)" in listed.text

    root = await bearer(client, "root")
    api = await client.get("/api/audit/", params={"object_type": "posts"}, headers=root)
    (entry,) = api.json()["items"]
    assert (entry["actor_id"], entry["actor"], entry["actor_name"]) == (alice.id, "alice", "alicia")
    assert impostor.id != alice.id

    async with office.session() as session:
        await office.users(session, Caller.operator("system")).delete(alice.id)
    await purge(office, "users", alice.id)  # in the trash, the account is still there
    listed = await signed_in.client.get("/admin/audit-entry/list", params={"search": "alice"})
    assert "alice (deleted account)" in listed.text and "alicia" not in listed.text
    api = await client.get("/api/audit/", params={"object_type": "posts"}, headers=root)
    assert [(e["actor_id"], e["actor_name"]) for e in api.json()["items"]] == [(None, None)]


async def test_the_operator_is_named_as_such(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    async with office.session() as session:
        await office.users(session, Caller.operator("cli")).update(
            alice.id, UserUpdate(full_name="Alice")
        )
    (update, _) = entries((await signed_in.client.get(f"/admin/user/history/{alice.id}")).text)
    assert "operator cli update" in update
