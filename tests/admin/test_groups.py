"""Groups and a user's memberships in the admin, through the PermissionService."""

import httpx2
from sqlmodel import select

from backoffice import BackOffice
from backoffice.models import Group, Permission, User
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import Account, bearer, grant, make_user


async def permission_ids(office: BackOffice, *codes: str) -> list[str]:
    async with office.session() as session:
        await office.permissions(session, Caller.operator("system")).sync_catalogue()
        rows = (await session.exec(select(Permission))).all()
    by_code = {p.code: str(p.id) for p in rows}
    return [by_code[c] for c in codes]


async def access(client: httpx2.AsyncClient, user_id: int) -> dict[str, list[str]]:
    response = await client.get(
        f"/api/users/{user_id}/access", headers=await bearer(client, "root")
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_group_made_in_the_admin_gives_its_members_its_permissions(
    signed_in: AdminBrowser, office: BackOffice, client: httpx2.AsyncClient
) -> None:
    editors = await permission_ids(office, "posts.view", "posts.change")
    created = await signed_in.submit(
        "/admin/group/create", {"name": "Editors", "permissions": editors}
    )
    assert created.status_code == 302, form_error(created.text)
    async with office.session() as session:
        group = (await session.exec(select(Group).where(Group.name == "Editors"))).one()

    clerk = await make_user(office, "clerk", is_staff=True)
    edited = await signed_in.submit(
        f"/admin/user/edit/{clerk.id}",
        {
            "email": "clerk@example.com",
            "username": "clerk",
            "is_active": "y",
            "is_staff": "y",
            "groups": [str(group.id)],
            "user_permissions": await permission_ids(office, "users.view"),
        },
    )

    assert edited.status_code == 302, form_error(edited.text)
    held = await access(client, clerk.id)
    assert held["groups"] == ["Editors"]
    assert held["permissions"] == ["users.view"]
    assert held["effective"] == ["posts.change", "posts.view", "users.view"]
    details = await signed_in.client.get(f"/admin/group/details/{group.id}")
    assert "posts.change" in details.text
    audit = await client.get(
        "/api/audit/", params={"object_type": "groups"}, headers=await bearer(client, "root")
    )
    (entry,) = audit.json()["items"]
    assert (entry["door"], entry["action"]) == ("admin", "create")
    assert entry["changes"]["permissions"] == [[], ["posts.change", "posts.view"]]


async def test_staff_cannot_grant_through_the_form_what_they_do_not_hold(
    office: BackOffice, client: httpx2.AsyncClient, superuser: Account
) -> None:
    manager = await make_user(office, "manager", is_staff=True)
    await grant(office, manager, ["users.view", "users.change"])
    clerk = await make_user(office, "clerk", is_staff=True)
    browser = AdminBrowser(client)
    assert (await browser.login("manager")).status_code == 302

    refused = await browser.submit(
        f"/admin/user/edit/{clerk.id}",
        {
            "email": "clerk@example.com",
            "username": "clerk",
            "full_name": "Changed",
            "is_active": "y",
            "is_staff": "y",
            "user_permissions": await permission_ids(office, "posts.delete"),
        },
    )

    assert refused.status_code == 400
    assert "posts.delete" in form_error(refused.text)
    held = await access(client, clerk.id)
    assert held["permissions"] == []
    async with office.session() as session:
        stored = await session.get(User, clerk.id)
        assert stored is not None and stored.full_name is None  # nothing half-written


async def test_a_group_name_taken_or_blank_is_a_form_error(
    signed_in: AdminBrowser, office: BackOffice
) -> None:
    assert (await signed_in.submit("/admin/group/create", {"name": "Editors"})).status_code == 302
    taken = await signed_in.submit("/admin/group/create", {"name": "Editors"})
    assert taken.status_code == 400
    assert form_error(taken.text) == "A group with this name already exists."
    blank = await signed_in.submit("/admin/group/create", {"name": "   "})
    assert blank.status_code == 400
    async with office.session() as session:
        assert len((await session.exec(select(Group))).all()) == 1


async def test_staff_without_group_permissions_does_not_see_groups(
    office: BackOffice, client: httpx2.AsyncClient, superuser: Account
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["users.view"])
    browser = AdminBrowser(client)
    assert (await browser.login("clerk")).status_code == 302
    listing = await client.get("/admin/user/list")
    assert listing.status_code == 200
    assert "/admin/group/list" not in listing.text
    assert (await client.get("/admin/group/list")).status_code == 403
    assert (await client.get("/admin/group/create")).status_code == 403
