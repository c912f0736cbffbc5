"""Revert and the trash in the admin: the History's buttons (one change, or everything one
request did: a bulk deactivation of 20 users), a refused revert's page with "Revert anyway",
and a resource's Trash page (restore, delete for good); on SQLite and PostgreSQL."""

import re

from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import AuditEntry, User, UserUpdate
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.admin.test_bulk import confirm
from tests.conftest import Account, grant, make_user

_FLASH = re.compile(r'class="alert alert-(\w+)[^"]*"[^>]*>(.*?)</div>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def text(html: str) -> str:
    return " ".join(_TAGS.sub(" ", html).split())


async def active_flags(office: BackOffice, ids: list[int]) -> list[bool]:
    async with office.session() as session:
        rows = await session.exec(select(User).where(col(User.id).in_(ids)).order_by(col(User.id)))
        return [row.is_active for row in rows]


async def test_revert_everything_a_bulk_deactivation_of_20_users_did(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    accounts = [await make_user(office, f"member{i:02}") for i in range(20)]
    ids = [a.id for a in accounts]
    _, result = await confirm(signed_in, "/admin/user/bulk/deactivate_selected", ids)
    assert result.status_code == 200, result.text
    assert await active_flags(office, ids) == [False] * 20

    history = await signed_in.client.get(f"/admin/user/history/{ids[3]}")
    assert history.status_code == 200
    assert "Revert everything this request did (20 changes)" in history.text
    unit = re.search(r'name="unit" value="([0-9a-f]{32})"', history.text)
    assert unit is not None
    reverted = await signed_in.client.post(
        "/admin/revert",
        data={
            "csrf_token": csrf_token(history.text),
            "unit": unit.group(1),
            "next": f"/admin/user/history/{ids[3]}",
        },
    )
    assert reverted.status_code == 303, reverted.text
    assert reverted.headers["location"] == f"/admin/user/history/{ids[3]}"
    assert await active_flags(office, ids) == [True] * 20

    after = await signed_in.client.get(reverted.headers["location"])
    assert "Reverted: 20 changes written to the audit log" in text(after.text)
    # The revert is one unit of its own, on the same page: it can be reverted in turn.
    assert after.text.count("Revert everything this request did (20 changes)") == 2


async def test_a_refused_revert_names_the_later_change_and_a_superuser_may_force_it(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    for name in ("First", "Second"):
        async with office.session() as session:
            await office.users(session, Caller.operator("cli")).update(
                alice.id, UserUpdate(full_name=name)
            )
    async with office.session() as session:
        first, second = (
            await session.exec(
                select(AuditEntry)
                .where(
                    col(AuditEntry.object_id) == str(alice.id), col(AuditEntry.action) == "update"
                )
                .order_by(col(AuditEntry.id))
            )
        ).all()

    history = await signed_in.client.get(f"/admin/user/history/{alice.id}")
    token = csrf_token(history.text)
    back = f"/admin/user/history/{alice.id}"
    refused = await signed_in.client.post(
        "/admin/revert", data={"csrf_token": token, "entry": str(first.id), "next": back}
    )
    assert refused.status_code == 409
    reasons = text(refused.text)
    assert "Nothing was reverted" in reasons
    assert "full_name changed again by operator" in reasons and f"(entry {second.id})" in reasons
    assert 'id="revert-force"' in refused.text

    forced = await signed_in.client.post(
        "/admin/revert",
        data={"csrf_token": token, "entry": str(first.id), "next": back, "force": "1"},
    )
    assert forced.status_code == 303, forced.text
    async with office.session() as session:
        user = await session.get(User, alice.id)
        assert user is not None and user.full_name is None


async def test_staff_see_no_revert_anyway_and_bad_requests_are_4xx(
    browser: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    staff = await make_user(office, "editor", is_staff=True)
    await grant(office, staff, ["users.view", "users.change", "audit.view"])
    for name in ("First", "Second"):
        async with office.session() as session:
            await office.users(session, Caller.operator("cli")).update(
                alice.id, UserUpdate(full_name=name)
            )
    assert (await browser.login("editor")).status_code == 302
    history = await browser.client.get(f"/admin/user/history/{alice.id}")
    token = csrf_token(history.text)
    first = re.findall(r'name="entry" value="(\d+)"', history.text)[1]  # newest first
    refused = await browser.client.post("/admin/revert", data={"csrf_token": token, "entry": first})
    assert refused.status_code == 409 and 'id="revert-force"' not in refused.text
    forced = await browser.client.post(
        "/admin/revert", data={"csrf_token": token, "entry": first, "force": "1"}
    )
    assert forced.status_code == 403

    for data in ({}, {"entry": "x"}, {"unit": "zz"}, {"entry": first, "unit": "a" * 32}):
        bad = await browser.client.post("/admin/revert", data={"csrf_token": token, **data})
        assert bad.status_code == 400, data
    missing = await browser.client.post(
        "/admin/revert", data={"csrf_token": token, "entry": "99999"}
    )
    assert missing.status_code == 404
    no_token = await browser.client.post("/admin/revert", data={"entry": first})
    assert no_token.status_code == 403
    # An outside address is never where the answer leads: the audit log is.
    latest = re.findall(r'name="entry" value="(\d+)"', history.text)[0]
    away = await browser.client.post(
        "/admin/revert",
        data={"csrf_token": token, "entry": latest, "next": "https://evil.example/"},
    )
    assert away.status_code == 303
    assert away.headers["location"].endswith("/admin/audit-entry/list")


async def test_the_trash_page_lists_restores_and_purges(
    signed_in: AdminBrowser, office: BackOffice, alice: Account, bob: Account
) -> None:
    for account in (alice, bob):
        deleted = await signed_in.delete("user", account.id)
        assert deleted.status_code == 200, deleted.text
    listing = await signed_in.client.get("/admin/user/list")
    assert 'id="trash-link"' in listing.text and "alice@example.com" not in listing.text

    trash = await signed_in.client.get("/admin/user/trash")
    assert trash.status_code == 200
    rows = re.findall(r'<tr class="trash-row" data-pk="(\d+)">(.*?)</tr>', trash.text, re.S)
    assert sorted(int(pk) for pk, _ in rows) == [alice.id, bob.id]
    assert all("root" in text(row) and "UTC" in text(row) for _, row in rows)

    token = csrf_token(trash.text)
    restored = await signed_in.client.post(
        f"/admin/user/trash/{alice.id}/restore", data={"csrf_token": token}
    )
    assert restored.status_code == 303
    assert restored.headers["location"].endswith(f"/admin/user/details/{alice.id}")
    details = await signed_in.client.get(restored.headers["location"])
    assert details.status_code == 200 and "User “alice” was restored." in text(details.text)

    purged = await signed_in.client.post(
        f"/admin/user/trash/{bob.id}/purge", data={"csrf_token": token}
    )
    assert purged.status_code == 303
    async with office.session() as session:
        assert await session.get(User, bob.id) is None
    gone = await signed_in.client.post(
        f"/admin/user/trash/{bob.id}/purge", data={"csrf_token": token}
    )
    assert gone.status_code == 404
    assert (await signed_in.client.get("/admin/group/trash")).status_code == 404
    assert (await signed_in.client.get("/admin/user/trash/1/restore")).status_code == 405
    no_token = await signed_in.client.post(f"/admin/user/trash/{alice.id}/purge")
    assert no_token.status_code == 403


async def test_the_trash_is_shown_to_those_who_may_delete(
    browser: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["users.view", "users.change"])
    assert (await browser.login("viewer")).status_code == 302
    listing = await browser.client.get("/admin/user/list")
    assert listing.status_code == 200 and 'id="trash-link"' not in listing.text
    assert (await browser.client.get("/admin/user/trash")).status_code == 403


async def test_a_deleted_row_is_brought_back_from_its_audit_entry_page(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    assert (await signed_in.delete("user", alice.id)).status_code == 200
    async with office.session() as session:
        entry = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "delete"))
        ).one()
    page = await signed_in.client.get(f"/admin/audit-entry/details/{entry.id}")
    assert page.status_code == 200 and "Bring it back" in page.text
    back = await signed_in.client.post(
        "/admin/revert",
        data={
            "csrf_token": csrf_token(page.text),
            "entry": str(entry.id),
            "next": f"/admin/audit-entry/details/{entry.id}",
        },
    )
    assert back.status_code == 303, back.text
    assert (await signed_in.client.get(f"/admin/user/details/{alice.id}")).status_code == 200
