"""The trash over HTTP: a deleted user or post leaves every read, keeps its unique values, is
listed with who deleted it and when, comes back whole (a user with its groups and its active
flag) or is purged; on SQLite and PostgreSQL."""

from datetime import timedelta

import httpx2
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import (
    AuditEntry,
    Group,
    GroupCreate,
    Post,
    User,
    UserAccess,
    UserAdminCreate,
    UserGroupLink,
    utcnow,
)
from backoffice.services import Caller
from tests.conftest import Account, assert_problem, bearer, grant, make_staff, make_user

USERS = "/api/users/"


async def memberships(office: BackOffice, user_id: int) -> list[str]:
    async with office.session() as session:
        query = (
            select(Group.name)
            .join(UserGroupLink, col(UserGroupLink.group_id) == col(Group.id))
            .where(col(UserGroupLink.user_id) == user_id)
        )
        return sorted((await session.exec(query)).all())


async def test_a_deleted_user_leaves_every_read_and_comes_back_with_its_groups(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    alice = await make_user(office, "alice", is_staff=True)
    async with office.session() as session:
        groups = office.groups(session, Caller.operator("system"))
        await groups.create_group(GroupCreate(name="editors"))
        await office.permissions(session, Caller.operator("system")).set_access(
            alice.id, UserAccess(permissions=["posts.view"], groups=["editors"])
        )
    alice_token = await bearer(client, "alice")
    root = await bearer(client, "root")

    deleted = await client.delete(f"{USERS}{alice.id}", headers=root)
    assert deleted.status_code == 204, deleted.text

    # Gone from every read: the API's get and list, sign-in, and the token already issued.
    assert_problem(await client.get(f"{USERS}{alice.id}", headers=root), 404)
    listed = await client.get(USERS, headers=root)
    assert alice.id not in [u["id"] for u in listed.json()["items"]]
    assert_problem(await client.get(f"{USERS}me", headers=alice_token), 401)
    login = await client.post(
        "/api/auth/login", data={"username": "alice", "password": alice.password}
    )
    assert_problem(login, 401)
    # Its unique values stay taken while it is in the trash.
    clash = await client.post(
        USERS,
        json={"email": "alice@example.com", "username": "alice2", "password": "An0therPass!"},
        headers=root,
    )
    assert_problem(clash, 409)

    trash = await client.get("/api/trash/users/", headers=root)
    assert trash.status_code == 200, trash.text
    [row] = trash.json()["items"]
    assert (row["id"], row["label"], row["deleted_by"]) == (alice.id, "alice", "root")
    assert row["deleted_at"]

    restored = await client.post(f"/api/trash/users/{alice.id}/restore", headers=root)
    assert restored.status_code == 200, restored.text
    assert restored.json()["username"] == "alice" and restored.json()["is_active"] is True
    assert await memberships(office, alice.id) == ["editors"]
    assert (await client.get("/api/trash/users/", headers=root)).json()["items"] == []
    assert (await client.get(f"{USERS}{alice.id}", headers=root)).status_code == 200
    again = await client.post(
        "/api/auth/login", data={"username": "alice", "password": alice.password}
    )
    assert again.status_code == 200, again.text

    async with office.session() as session:
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(col(AuditEntry.object_id) == str(alice.id))
                .where(col(AuditEntry.object_type) == "users")
                .order_by(col(AuditEntry.id))
            )
        ).all()
    assert actions[-2:] == ["delete", "restore"]


async def test_an_inactive_user_comes_back_inactive(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    bob = await make_user(office, "bob", is_active=False)
    root = await bearer(client, "root")
    assert (await client.delete(f"{USERS}{bob.id}", headers=root)).status_code == 204
    restored = await client.post(f"/api/trash/users/{bob.id}/restore", headers=root)
    assert restored.status_code == 200 and restored.json()["is_active"] is False


async def test_purge_deletes_for_good_and_keeps_the_fields_in_the_log(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    root = await bearer(client, "root")
    created = await client.post(
        "/api/posts/", json={"title": "Draft"}, headers=await bearer(client, "alice")
    )
    post_id = created.json()["id"]
    assert (await client.delete(f"/api/posts/{post_id}", headers=root)).status_code == 204
    purged = await client.delete(f"/api/trash/posts/{post_id}", headers=root)
    assert purged.status_code == 204, purged.text
    assert_problem(await client.delete(f"/api/trash/posts/{post_id}", headers=root), 404)
    async with office.session() as session:
        assert await session.get(Post, post_id) is None
        purge = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "purge"))
        ).one()
    assert purge.changes["title"] == ["Draft", None]

    # From the log, the purged post can still be brought back (it held no secret).
    back = await client.post(f"/api/audit/{purge.id}/revert", headers=root)
    assert back.status_code == 200, back.text
    fetched = await client.get(f"/api/posts/{post_id}", headers=root)
    assert fetched.status_code == 200 and fetched.json()["title"] == "Draft"


async def test_a_purged_user_cannot_be_recreated_from_the_log(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    root = await bearer(client, "root")
    await client.delete(f"{USERS}{alice.id}", headers=root)
    assert (await client.delete(f"/api/trash/users/{alice.id}", headers=root)).status_code == 204
    async with office.session() as session:
        purge = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "purge"))
        ).one()
        assert "hashed_password" not in purge.changes  # the log never holds a secret
    refused = assert_problem(await client.post(f"/api/audit/{purge.id}/revert", headers=root), 409)
    assert "hashed_password is not in the audit log" in refused["detail"]


async def test_the_trash_is_for_whoever_may_delete_and_only_for_resources_that_have_one(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    root = await bearer(client, "root")
    await client.delete(f"{USERS}{alice.id}", headers=root)
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["users.view", "users.change"])
    headers = await bearer(client, "viewer")
    assert_problem(await client.get("/api/trash/users/", headers=headers), 403)
    assert_problem(await client.post(f"/api/trash/users/{alice.id}/restore", headers=headers), 403)
    assert_problem(await client.get("/api/trash/users/"), 401)
    assert_problem(await client.get("/api/trash/groups/", headers=root), 404)
    assert_problem(await client.get("/api/trash/nothing/", headers=root), 404)
    assert_problem(await client.post(f"/api/trash/users/{superuser.id}/restore", headers=root), 404)

    deleter = await make_staff(office, "deleter")  # holds users.delete
    listed = await client.get("/api/trash/users/", headers=await bearer(client, "deleter"))
    assert [row["id"] for row in listed.json()["items"]] == [alice.id]
    assert deleter.id


async def test_purge_older_than_keeps_recent_rows(
    office: BackOffice, superuser: Account, alice: Account, bob: Account
) -> None:
    operator = Caller.operator("cli")
    async with office.session() as session:
        users = office.users(session, operator)
        await users.delete(alice.id)
        await users.delete(bob.id)
    async with office.session() as session:
        old = await session.get(User, alice.id)
        assert old is not None
        old.deleted_at = utcnow() - timedelta(days=31)
        session.add(old)
    purged = await office.purge_trash(operator)
    assert {name: (r.count, r.kept) for name, r in purged.items()} == {
        "users": (1, []),
        "posts": (0, []),
    }
    async with office.session() as session:
        assert await session.get(User, alice.id) is None
        kept = await session.get(User, bob.id)
        assert kept is not None and kept.deleted_at is not None
    # The username of a purged account is free again.
    async with office.session() as session:
        await office.users(session, operator).create(
            UserAdminCreate(email="alice@example.com", username="alice", password="Fr3shPassw0rd")
        )
