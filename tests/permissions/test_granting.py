"""Who may hand out rights: nobody grants or revokes a permission they do not hold, whether
directly, through a group's membership or through the group itself; a group's permissions reach
its members at both doors at once, and leave them when the group loses them or goes; the audit
log keeps every group and membership change with before and after."""

from typing import Any

import httpx2
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import Group, Permission
from backoffice.services import Caller
from tests.admin.conftest import form_error
from tests.conftest import Account, assert_problem, bearer, grant, make_user
from tests.permissions.conftest import Admin, make_group

GROUPS = "/api/groups/"


def access_url(account: Account) -> str:
    return f"/api/users/{account.id}/access"


async def held(office: BackOffice, account: Account) -> dict[str, list[str]]:
    """What the account holds, as the operator reads it."""
    async with office.session() as session:
        access = await office.permissions(session, Caller.operator("system")).access_of(account.id)
    return access.model_dump()


async def permission_id(office: BackOffice, code: str) -> str:
    resource, _, action = code.partition(".")
    async with office.session() as session:
        await office.permissions(session, Caller.operator("system")).sync_catalogue()
        query = select(Permission.id).where(
            col(Permission.resource) == resource, col(Permission.action) == action
        )
        return str((await session.exec(query)).one())


async def group_names(office: BackOffice) -> list[str]:
    async with office.session() as session:
        return sorted((await session.exec(select(Group.name))).all())


async def audit(
    client: httpx2.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/audit/", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# -- granting to a user ---------------------------------------------------------------------------


async def test_nobody_grants_or_revokes_through_the_api_what_they_do_not_hold(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    manager = await make_user(office, "manager", is_staff=True)
    await grant(office, manager, ["users.view", "users.change", "invoices.view"])
    clerk = await make_user(office, "clerk", is_staff=True)
    await make_group(office, "Payers", ["invoices.delete"])
    await make_group(office, "Readers", ["invoices.view"])
    headers = await bearer(client, "manager")
    nothing: dict[str, list[str]] = {"groups": [], "permissions": [], "effective": []}

    for refused in (
        {"permissions": ["invoices.delete"]},  # directly
        {"permissions": ["invoices.view", "invoices.delete"]},  # all or nothing
        {"groups": ["Payers"]},  # through a group
    ):
        body = assert_problem(
            await client.put(access_url(clerk), json=refused, headers=headers), 403
        )
        assert "invoices.delete" in body["detail"]
        assert await held(office, clerk) == nothing
    # Nor may they raise their own rights with users.change.
    own = {"permissions": ["users.view", "users.change", "invoices.view", "users.delete"]}
    assert_problem(await client.put(access_url(manager), json=own, headers=headers), 403)
    assert (await held(office, manager))["effective"] == [
        "invoices.view",
        "users.change",
        "users.view",
    ]

    # What they hold, they may hand on.
    given = await client.put(
        access_url(clerk),
        json={"groups": ["Readers"], "permissions": ["invoices.view"]},
        headers=headers,
    )
    assert given.status_code == 200, given.text
    assert given.json() == {
        "groups": ["Readers"],
        "permissions": ["invoices.view"],
        "effective": ["invoices.view"],
    }

    # Taking away what they do not hold is refused just the same, directly or as a membership.
    await grant(office, clerk, ["invoices.view", "invoices.delete"], groups=["Payers"])
    before = await held(office, clerk)
    for refused in (
        {"groups": ["Payers"], "permissions": ["invoices.view"]},
        {"groups": [], "permissions": ["invoices.view", "invoices.delete"]},
    ):
        body = assert_problem(
            await client.put(access_url(clerk), json=refused, headers=headers), 403
        )
        assert "invoices.delete" in body["detail"]
        assert await held(office, clerk) == before

    # Refusals leave no trace in the audit log; the one change made does.
    entries = await audit(
        client, await bearer(client, "root"), actor_id=manager.id, object_type="users"
    )
    assert [(e["object_type"], e["object_id"], e["action"]) for e in entries] == [
        ("users", str(clerk.id), "update")
    ]


async def test_nobody_puts_into_a_group_what_they_do_not_hold_at_either_door(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    lead = await make_user(office, "lead", is_staff=True)
    group_rights = ["groups.view", "groups.add", "groups.change", "groups.delete"]
    await grant(office, lead, [*group_rights, "invoices.view"])
    payers = await make_group(office, "Payers", ["invoices.delete"])
    headers = await bearer(client, "lead")
    admin = Admin(client)
    assert await admin.sign_in("lead")
    lacking, holding = (
        await permission_id(office, "invoices.delete"),
        await permission_id(office, "invoices.view"),
    )

    # Creating a group with a permission they lack: 403 from the API, a form error in the admin.
    body = assert_problem(
        await client.post(
            GROUPS, json={"name": "Mine", "permissions": ["invoices.delete"]}, headers=headers
        ),
        403,
    )
    assert "invoices.delete" in body["detail"]
    form = await admin.post_form("/admin/group/create", {"name": "Mine", "permissions": lacking})
    assert form.status_code == 400
    assert "invoices.delete" in (form_error(form.text) or "")
    assert await group_names(office) == ["Payers"]

    # With what they hold, both doors create it.
    created = await client.post(
        GROUPS, json={"name": "Readers", "permissions": ["invoices.view"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    form = await admin.post_form("/admin/group/create", {"name": "Viewers", "permissions": holding})
    assert Admin.saved(form), Admin.describe(form)
    assert await group_names(office) == ["Payers", "Readers", "Viewers"]

    # Adding to a group what they lack, emptying or deleting a group holding it: all refused.
    readers = created.json()["id"]
    change = {"permissions": ["invoices.view", "invoices.delete"]}
    assert_problem(await client.patch(f"{GROUPS}{readers}", json=change, headers=headers), 403)
    emptied: dict[str, list[str]] = {"permissions": []}
    assert_problem(await client.patch(f"{GROUPS}{payers}", json=emptied, headers=headers), 403)
    assert_problem(await client.delete(f"{GROUPS}{payers}", headers=headers), 403)
    deleted = await admin.delete("group", payers)
    assert "invoices.delete" in deleted.text  # SQLAdmin reports the refusal on the list
    read = await client.get(f"{GROUPS}{readers}", headers=headers)
    assert read.json()["permissions"] == ["invoices.view"]
    read = await client.get(f"{GROUPS}{payers}", headers=headers)
    assert read.status_code == 200 and read.json()["permissions"] == ["invoices.delete"]


# -- a group's permissions reach its members ------------------------------------------------------


async def test_a_groups_permission_comes_and_goes_with_the_group_at_both_doors(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    clerk = await make_user(office, "clerk", is_staff=True)
    outsider = await make_user(office, "outsider")  # not staff: a membership gives it nothing
    root = await bearer(client, "root")
    # The member signs in once, before joining: rights are read on every request.
    member = await bearer(client, "clerk")
    admin = Admin(client)
    assert await admin.sign_in("clerk")

    async def member_may_view_invoices() -> bool:
        api = await client.get("/api/invoices/", headers=member)
        page = await admin.get("/admin/invoice/list")
        mine = await client.get("/api/users/me/access", headers=member)
        allowed = api.status_code == 200
        if not allowed:
            assert_problem(api, 403)
        assert page.status_code == (200 if allowed else 403), "the doors disagree"
        assert ("invoices.view" in mine.json()["effective"]) == allowed
        return allowed

    assert not await member_may_view_invoices()
    created = await client.post(
        GROUPS, json={"name": "Viewers", "permissions": ["invoices.view"]}, headers=root
    )
    assert created.status_code == 201, created.text
    group = f"{GROUPS}{created.json()['id']}"
    for account in (clerk, outsider):
        joined = await client.put(access_url(account), json={"groups": ["Viewers"]}, headers=root)
        assert joined.status_code == 200, joined.text
    assert await member_may_view_invoices()
    outsiders = await client.get(access_url(outsider), headers=root)
    assert outsiders.json() == {"groups": ["Viewers"], "permissions": [], "effective": []}
    outside = await client.get("/api/invoices/", headers=await bearer(client, "outsider"))
    assert_problem(outside, 403)

    emptied = await client.patch(group, json={"permissions": []}, headers=root)
    assert emptied.status_code == 200, emptied.text
    assert not await member_may_view_invoices()
    restored = await client.patch(group, json={"permissions": ["invoices.view"]}, headers=root)
    assert restored.status_code == 200, restored.text
    assert await member_may_view_invoices()

    assert (await client.delete(group, headers=root)).status_code == 204
    assert not await member_may_view_invoices()
    assert await held(office, clerk) == {"groups": [], "permissions": [], "effective": []}


# -- the audit log --------------------------------------------------------------------------------


async def test_the_audit_log_records_group_and_membership_changes_with_before_and_after(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    root = await make_user(office, "root", is_staff=True, is_superuser=True)
    clerk = await make_user(office, "clerk", is_staff=True)
    headers = await bearer(client, "root")

    created = await client.post(
        GROUPS, json={"name": "Viewers", "permissions": ["invoices.view"]}, headers=headers
    )
    group_id = created.json()["id"]
    changed = await client.patch(
        f"{GROUPS}{group_id}",
        json={"name": "Clerks", "permissions": ["invoices.view", "invoices.add"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    accesses: list[dict[str, list[str]]] = [
        {"groups": ["Clerks"], "permissions": ["posts.view"]},
        {"groups": ["Clerks"], "permissions": ["posts.view"]},  # no change: no entry
        {"groups": [], "permissions": []},
    ]
    for access in accesses:
        response = await client.put(access_url(clerk), json=access, headers=headers)
        assert response.status_code == 200, response.text
    assert (await client.delete(f"{GROUPS}{group_id}", headers=headers)).status_code == 204

    groups = await audit(client, headers, object_type="groups")
    assert [(e["action"], e["object_id"]) for e in groups] == [
        ("delete", str(group_id)),
        ("update", str(group_id)),
        ("create", str(group_id)),
    ]
    assert [e["changes"] for e in groups] == [
        {"name": ["Clerks", None], "permissions": [["invoices.add", "invoices.view"], []]},
        {
            "name": ["Viewers", "Clerks"],
            "permissions": [["invoices.view"], ["invoices.add", "invoices.view"]],
        },
        {"name": [None, "Viewers"], "permissions": [[], ["invoices.view"]]},
    ]
    memberships = await audit(client, headers, object_type="users", object_id=str(clerk.id))
    memberships = [e for e in memberships if e["door"] == "api"]  # not the account's creation
    assert [e["changes"] for e in memberships] == [
        {"groups": [["Clerks"], []], "permissions": [["posts.view"], []]},
        {"groups": [[], ["Clerks"]], "permissions": [[], ["posts.view"]]},
    ]
    for entry in [*groups, *memberships]:
        assert (entry["actor"], entry["actor_id"], entry["door"]) == ("root", root.id, "api")
