"""Revert over HTTP and through the service: one change, a whole request, a refusal with its
reason, a forced revert, a revert of a revert; on SQLite and PostgreSQL."""

from typing import Any

import httpx2
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import AuditEntry, PostCreate, User, UserUpdate
from backoffice.services import Caller
from backoffice.services.users import LAST_SUPERUSER
from tests.conftest import Account, assert_problem, bearer, grant, make_staff, make_user

USERS = "/api/users/"
AUDIT = "/api/audit/"


async def entries(office: BackOffice, **where: Any) -> list[AuditEntry]:
    async with office.session() as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id))
        for name, value in where.items():
            query = query.where(col(getattr(AuditEntry, name)) == value)
        return list((await session.exec(query)).all())


async def user(office: BackOffice, pk: int) -> User:
    async with office.session() as session:
        found = await session.get(User, pk)
        assert found is not None
        return found


async def test_revert_one_change_sets_its_fields_back_and_is_itself_audited(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    root = await bearer(client, "root")
    changed = await client.patch(
        f"{USERS}{alice.id}",
        json={"full_name": "Alice Liddell", "email": "al@example.com"},
        headers=root,
    )
    assert changed.status_code == 200, changed.text
    [update] = await entries(office, object_id=str(alice.id), action="update")
    assert update.unit and len(update.unit) == 32

    reverted = await client.post(f"{AUDIT}{update.id}/revert", headers=root)
    assert reverted.status_code == 200, reverted.text
    body = reverted.json()
    assert [e["action"] for e in body["entries"]] == ["update"]
    assert body["entries"][0]["changes"] == {
        "email": ["al@example.com", "alice@example.com"],
        "full_name": ["Alice Liddell", None],
    }
    assert body["unit"] == body["entries"][0]["unit"] != update.unit
    back = await user(office, alice.id)
    assert (back.email, back.full_name) == ("alice@example.com", None)

    # The revert is a change like any other: reverting its unit puts the change back.
    again = await client.post(f"{AUDIT}units/{body['unit']}/revert", headers=root)
    assert again.status_code == 200, again.text
    redone = await user(office, alice.id)
    assert (redone.email, redone.full_name) == ("al@example.com", "Alice Liddell")


async def test_a_revert_over_a_later_change_is_refused_with_the_reason_unless_forced(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    staff = await make_staff(office, "carol")
    root, carol = await bearer(client, "root"), await bearer(client, "carol")
    await client.patch(f"{USERS}{alice.id}", json={"full_name": "First"}, headers=root)
    await client.patch(f"{USERS}{alice.id}", json={"full_name": "Second"}, headers=carol)
    first, second = await entries(office, object_id=str(alice.id), action="update")

    for headers in (carol, root):
        refused = assert_problem(
            await client.post(f"{AUDIT}{first.id}/revert", headers=headers), 409
        )
        assert refused["type"].endswith("revert_refused")
        [reason] = refused["reasons"]
        assert f"entry {first.id}" in reason
        assert "full_name changed again by carol" in reason and f"(entry {second.id})" in reason
        assert refused["forcible"] is (headers is root)
    assert (await user(office, alice.id)).full_name == "Second"  # nothing was written

    # Only a superuser may force it; staff asking to force are refused outright.
    forbidden = await client.post(f"{AUDIT}{first.id}/revert?force=true", headers=carol)
    assert_problem(forbidden, 403)
    forced = await client.post(f"{AUDIT}{first.id}/revert?force=true", headers=root)
    assert forced.status_code == 200, forced.text
    assert (await user(office, alice.id)).full_name is None
    assert staff.id != superuser.id

    # The latest change reverts without force: nothing came after it but the forced revert,
    # which touched the same field.
    latest = await client.post(f"{AUDIT}{second.id}/revert", headers=root)
    assert_problem(latest, 409)


async def test_revert_applies_the_services_rules(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    """A revert goes through the service: one that would leave no active superuser is refused
    as the change itself would be, with the rule's words, and nothing is written."""
    root = await bearer(client, "root")
    promoted = await client.patch(
        f"{USERS}{alice.id}", json={"is_staff": True, "is_superuser": True}, headers=root
    )
    assert promoted.status_code == 200, promoted.text
    [promotion] = await entries(office, object_id=str(alice.id), action="update")
    async with office.session() as session:  # root leaves: alice is the last superuser
        await office.users(session, Caller.operator("cli")).update(
            superuser.id, UserUpdate(is_active=False)
        )

    refused = await client.post(
        f"{AUDIT}{promotion.id}/revert", headers=await bearer(client, "alice")
    )
    body = assert_problem(refused, 409)
    assert body["detail"].startswith(f"Nothing was reverted: entry {promotion.id} (users")
    assert LAST_SUPERUSER in body["detail"]
    assert (await user(office, alice.id)).is_superuser is True


async def test_revert_needs_the_audit_log_and_the_resources_own_permission(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    root = await bearer(client, "root")
    await client.patch(f"{USERS}{alice.id}", json={"full_name": "Changed"}, headers=root)
    [update] = await entries(office, object_id=str(alice.id), action="update")

    reader = await make_user(office, "reader", is_staff=True)
    await grant(office, reader, ["audit.view"])  # may read the log, may not change users
    refused = await client.post(
        f"{AUDIT}{update.id}/revert", headers=await bearer(client, "reader")
    )
    assert_problem(refused, 403)
    plain = await client.post(f"{AUDIT}{update.id}/revert", headers=await bearer(client, "alice"))
    assert_problem(plain, 403)
    assert (await user(office, alice.id)).full_name == "Changed"

    assert_problem(await client.post(f"{AUDIT}999999/revert", headers=root), 404)
    assert_problem(await client.post(f"{AUDIT}units/{'0' * 32}/revert", headers=root), 404)
    assert_problem(await client.post(f"{AUDIT}units/not-a-unit/revert", headers=root), 422)
    assert_problem(await client.post(f"{AUDIT}0/revert", headers=root), 422)


async def test_a_password_change_is_not_revertible_and_says_so(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    async with office.session() as session:
        await office.users(session, Caller.operator("cli")).set_password(alice.id, "N3wPassw0rd!x")
    [change] = await entries(office, object_id=str(alice.id), action="update")
    refused = await client.post(f"{AUDIT}{change.id}/revert", headers=await bearer(client, "root"))
    body = assert_problem(refused, 409)
    assert "changed nothing that can be set back" in body["detail"]
    assert body["forcible"] is False


async def test_revert_of_a_create_moves_the_post_to_the_trash_and_back(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    created = await client.post("/api/posts/", json={"title": "Hello"}, headers=headers)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    [create] = await entries(office, object_type="posts", action="create")

    root = await bearer(client, "root")
    undone = await client.post(f"{AUDIT}{create.id}/revert", headers=root)
    assert undone.status_code == 200, undone.text
    assert [e["action"] for e in undone.json()["entries"]] == ["delete"]
    assert_problem(await client.get(f"/api/posts/{post_id}", headers=headers), 404)
    trash = await client.get("/api/trash/posts/", headers=root)
    assert [row["id"] for row in trash.json()["items"]] == [post_id]

    # Reverting that delete brings the post back from the trash.
    [delete] = await entries(office, object_type="posts", action="delete")
    back = await client.post(f"{AUDIT}{delete.id}/revert", headers=root)
    assert back.status_code == 200, back.text
    assert [e["action"] for e in back.json()["entries"]] == ["restore"]
    assert (await client.get(f"/api/posts/{post_id}", headers=headers)).json()["title"] == "Hello"


async def test_reverting_a_request_reverts_all_it_did_and_nothing_if_one_is_refused(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    """One operator command that changed three accounts: one unit. A later change to one of
    them makes the whole unit refuse, naming that account, and nothing is reverted."""
    accounts = [await make_user(office, f"user{i}") for i in range(3)]
    operator = Caller.operator("cli")
    async with office.session() as session:
        users = office.users(session, operator)
        for account in accounts:
            await users.update(account.id, UserUpdate(is_active=False))
    unit_entries = await entries(office, unit=operator.unit)
    assert len(unit_entries) == 3

    root = await bearer(client, "root")
    await client.patch(f"{USERS}{accounts[1].id}", json={"is_active": True}, headers=root)
    refused = assert_problem(
        await client.post(f"{AUDIT}units/{operator.unit}/revert", headers=root), 409
    )
    assert len(refused["reasons"]) == 1 and "user1" in refused["reasons"][0]
    assert [(await user(office, a.id)).is_active for a in accounts] == [False, True, False]

    forced = await client.post(f"{AUDIT}units/{operator.unit}/revert?force=true", headers=root)
    assert forced.status_code == 200, forced.text
    assert len(forced.json()["entries"]) == 2  # user1 is active already: nothing to write
    assert [(await user(office, a.id)).is_active for a in accounts] == [True, True, True]


async def test_a_post_written_by_the_operator_in_one_command_is_one_unit(
    office: BackOffice, alice: Account
) -> None:
    operator = Caller.operator("cli")
    async with office.session() as session:
        posts = office.posts(session, operator)
        await posts.create(PostCreate(title="One"), author_id=alice.id)
        await posts.create(PostCreate(title="Two"), author_id=alice.id)
    assert len(await entries(office, unit=operator.unit)) == 2
