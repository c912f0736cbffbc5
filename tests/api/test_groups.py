"""``/api/groups/`` and ``/api/permissions/``: clear errors, nothing half-written."""

import httpx2
from conftest import Account, assert_problem, bearer, grant, make_user, purge
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import UserGroupLink, UserPermissionLink

GROUPS = "/api/groups/"


async def test_the_catalogue_lists_four_permissions_per_resource_and_the_audit_log(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    response = await client.get("/api/permissions/", headers=await bearer(client, "root"))
    assert response.status_code == 200, response.text
    codes = {p["code"] for p in response.json()}
    for resource in ("users", "posts", "groups"):
        assert {f"{resource}.{a}" for a in ("view", "add", "change", "delete")} <= codes
    assert "audit.view" in codes


async def test_group_create_read_update_delete(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    root = await bearer(client, "root")
    created = await client.post(
        GROUPS, json={"name": "Editors", "permissions": ["posts.view"]}, headers=root
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["permissions"] == ["posts.view"]

    changed = await client.patch(
        f"{GROUPS}{group['id']}",
        json={"name": "Writers", "permissions": ["posts.view", "posts.change"]},
        headers=root,
    )
    assert changed.json() == {
        "id": group["id"],
        "name": "Writers",
        "permissions": ["posts.change", "posts.view"],
    }
    listed = await client.get(GROUPS, params={"search": "writ"}, headers=root)
    assert [g["name"] for g in listed.json()["items"]] == ["Writers"]
    assert (await client.delete(f"{GROUPS}{group['id']}", headers=root)).status_code == 204
    assert_problem(await client.get(f"{GROUPS}{group['id']}", headers=root), 404)


async def test_bad_group_input_is_a_clear_4xx_and_writes_nothing(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    root = await bearer(client, "root")
    assert (await client.post(GROUPS, json={"name": "Editors"}, headers=root)).status_code == 201
    duplicate = assert_problem(
        await client.post(GROUPS, json={"name": "Editors"}, headers=root), 409
    )
    assert duplicate["errors"][0]["loc"] == ["body", "name"]
    unknown = assert_problem(
        await client.post(
            GROUPS, json={"name": "Other", "permissions": ["posts.fly"]}, headers=root
        ),
        422,
    )
    assert "posts.fly" in unknown["detail"]
    assert_problem(await client.post(GROUPS, json={"name": "  "}, headers=root), 422)
    assert_problem(await client.post(GROUPS, json={"name": "x\x00y"}, headers=root), 422)
    assert_problem(await client.post(GROUPS, json={"name": "a", "extra": 1}, headers=root), 422)
    listed = await client.get(GROUPS, headers=root)
    assert [g["name"] for g in listed.json()["items"]] == ["Editors"]


async def test_group_routes_need_the_group_permissions(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)
    headers = await bearer(client, "clerk")
    assert_problem(await client.get(GROUPS, headers=headers), 403)
    assert_problem(await client.post(GROUPS, json={"name": "Mine"}, headers=headers), 403)
    assert_problem(await client.get("/api/permissions/", headers=headers), 403)
    await grant(office, clerk, ["groups.view"])
    assert (await client.get(GROUPS, headers=headers)).status_code == 200
    assert_problem(await client.post(GROUPS, json={"name": "Mine"}, headers=headers), 403)


async def test_my_access_lists_what_i_may_do(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, alice: Account
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["posts.view"])
    mine = await client.get("/api/users/me/access", headers=await bearer(client, "clerk"))
    assert mine.json() == {"groups": [], "permissions": ["posts.view"], "effective": ["posts.view"]}
    plain = await client.get("/api/users/me/access", headers=await bearer(client, "alice"))
    assert plain.json()["effective"] == []
    root = await client.get("/api/users/me/access", headers=await bearer(client, "root"))
    assert "audit.view" in root.json()["effective"]


async def test_deleting_a_member_takes_their_memberships_with_them(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account
) -> None:
    root = await bearer(client, "root")
    await client.post(GROUPS, json={"name": "Editors", "permissions": ["posts.view"]}, headers=root)
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["users.view"], groups=["Editors"])

    assert (await client.delete(f"/api/users/{clerk.id}", headers=root)).status_code == 204
    async with office.session() as session:  # in the trash, kept for a restore
        assert len((await session.exec(select(UserGroupLink))).all()) == 1
    await purge(office, "users", clerk.id)

    async with office.session() as session:
        links = (await session.exec(select(UserGroupLink))).all()
        direct = (await session.exec(select(UserPermissionLink))).all()
    assert links == [] and direct == []
    group = (await client.get(GROUPS, headers=root)).json()["items"][0]
    assert group["permissions"] == ["posts.view"]
