"""Nobody manages an account that holds more than they do: a staff user with the users
permissions cannot set the password, change the email, username or flags, change the access,
end the sessions or delete an account holding a permission or group they lack, through any
door. Otherwise they would set its password (or its email, then ask for a reset link) and sign
in as it."""

from typing import Any

import httpx2
import pytest

from backoffice import BackOffice
from backoffice.errors import PermissionDenied
from backoffice.models import User
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser, form_error
from tests.admin.test_bulk import confirm, report, unescape
from tests.admin.test_set_password import set_password
from tests.conftest import DEFAULT_PASSWORD, Account, assert_problem, bearer, grant, make_user
from tests.permissions.conftest import make_group

USER_RIGHTS = ["users.view", "users.change", "users.delete"]
BOSS_EXTRA = "invoices.delete"
REFUSED = f"This account holds permissions you do not hold ({BOSS_EXTRA})."
NEW_PASSWORD = "Taken-0ver-Pass"


async def staff_holding(office: BackOffice, username: str, codes: list[str]) -> Account:
    account = await make_user(office, username, is_staff=True)
    await grant(office, account, codes)
    return account


@pytest.fixture
async def manager(office: BackOffice) -> Account:
    """Staff who may view, change and delete users, and nothing else."""
    return await staff_holding(office, "manager", USER_RIGHTS)


@pytest.fixture
async def boss(office: BackOffice) -> Account:
    """Staff holding what the manager holds, and one permission more."""
    return await staff_holding(office, "boss", [*USER_RIGHTS, BOSS_EXTRA])


@pytest.fixture
async def peer(office: BackOffice) -> Account:
    """Staff holding part of what the manager holds."""
    return await staff_holding(office, "peer", ["users.view"])


async def row(office: BackOffice, account: Account) -> dict[str, Any] | None:
    """What must not move: the account's fields, its hash and its access."""
    async with office.session() as session:
        user = await session.get(User, account.id)
        if user is None:
            return None
        access = await office.permissions(session, Caller.operator("system")).access_of(account.id)
        return {**user.model_dump(), "access": access.model_dump()}


# -- the API ----------------------------------------------------------------------------------

BOSS_ACCESS_LESS_ONE = {"permissions": ["users.view", "users.change", BOSS_EXTRA]}
"""Takes away users.delete only, which the manager holds: the grant rule alone allows it."""

API_CHANGES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "email": ("PATCH", "", {"email": "boss@attacker.example"}),
    "username": ("PATCH", "", {"username": "hijacked"}),
    "deactivate (ends its sessions)": ("PATCH", "", {"is_active": False}),
    "full name": ("PATCH", "", {"full_name": "Hijacked"}),
    "access": ("PUT", "/access", BOSS_ACCESS_LESS_ONE),
    "delete": ("DELETE", "", None),
}


@pytest.mark.parametrize("change", API_CHANGES)
async def test_the_api_refuses_to_manage_an_account_holding_more(
    client: httpx2.AsyncClient, office: BackOffice, manager: Account, boss: Account, change: str
) -> None:
    method, suffix, body = API_CHANGES[change]
    boss_headers = await bearer(client, "boss")
    before = await row(office, boss)

    response = await client.request(
        method,
        f"/api/users/{boss.id}{suffix}",
        json=body,
        headers=await bearer(client, "manager"),
    )

    assert assert_problem(response, 403)["detail"] == REFUSED
    assert await row(office, boss) == before
    # Its sessions go on: nothing was ended.
    assert (await client.get("/api/users/me", headers=boss_headers)).status_code == 200


@pytest.mark.parametrize("change", API_CHANGES)
async def test_the_api_manages_an_account_holding_less(
    client: httpx2.AsyncClient, office: BackOffice, manager: Account, peer: Account, change: str
) -> None:
    method, suffix, body = API_CHANGES[change]
    if suffix == "/access":
        body = {"permissions": []}
    response = await client.request(
        method, f"/api/users/{peer.id}{suffix}", json=body, headers=await bearer(client, "manager")
    )
    assert response.status_code in (200, 204), response.text
    after = await row(office, peer)
    if method == "DELETE":  # to the trash
        assert after is not None and after["deleted_at"] is not None
    elif suffix == "/access":
        assert after is not None and after["access"]["permissions"] == []
    else:
        assert after is not None and all(after[k] == v for k, v in (body or {}).items())


async def test_a_superuser_manages_any_staff_account(
    client: httpx2.AsyncClient, office: BackOffice, superuser: Account, boss: Account
) -> None:
    response = await client.patch(
        f"/api/users/{boss.id}",
        json={"email": "b@example.org"},
        headers=await bearer(client, "root"),
    )
    assert response.status_code == 200, response.text


async def test_groups_count_even_when_their_permissions_are_held(
    client: httpx2.AsyncClient, office: BackOffice, manager: Account
) -> None:
    """A group's permissions may grow later: its members are managed by its members."""
    await make_group(office, "Readers", ["users.view"])
    reader = await make_user(office, "reader", is_staff=True)
    await grant(office, reader, [], groups=["Readers"])
    before = await row(office, reader)
    change = {"email": "reader@attacker.example"}
    headers = await bearer(client, "manager")

    refused = await client.patch(f"/api/users/{reader.id}", json=change, headers=headers)

    body = assert_problem(refused, 403)
    assert body["detail"] == "This account belongs to groups you are not a member of (Readers)."
    assert await row(office, reader) == before
    await grant(office, manager, USER_RIGHTS, groups=["Readers"])
    allowed = await client.patch(f"/api/users/{reader.id}", json=change, headers=headers)
    assert allowed.status_code == 200, allowed.text


async def test_the_refusal_names_a_few_permissions_and_only_to_who_may_see_them(
    client: httpx2.AsyncClient, office: BackOffice, manager: Account
) -> None:
    chief = await staff_holding(
        office,
        "chief",
        ["invoices.view", "invoices.add", "invoices.change", "invoices.delete", "customers.view"],
    )
    named = await client.delete(f"/api/users/{chief.id}", headers=await bearer(client, "manager"))
    assert assert_problem(named, 403)["detail"] == (
        "This account holds permissions you do not hold "
        "(customers.view, invoices.add, invoices.change and 2 more)."
    )
    await staff_holding(office, "deleter", ["users.delete"])  # may not view accounts
    unnamed = await client.delete(f"/api/users/{chief.id}", headers=await bearer(client, "deleter"))
    assert (
        assert_problem(unnamed, 403)["detail"] == "This account holds permissions you do not hold."
    )
    assert await row(office, chief) is not None


async def test_the_service_refuses_a_password_reset_and_the_operator_may_do_it(
    office: BackOffice, manager: Account, boss: Account
) -> None:
    with pytest.raises(PermissionDenied, match=r"\(invoices\.delete\)"):
        async with office.session() as session:
            await office.users(session, Caller(user=manager.user, door="api")).set_password(
                boss.id, NEW_PASSWORD
            )
    async with office.session() as session:
        await office.users(session, Caller.operator("cli")).set_password(boss.id, NEW_PASSWORD)


# -- the admin ------------------------------------------------------------------------------------


@pytest.fixture
async def as_manager(client: httpx2.AsyncClient, manager: Account) -> AdminBrowser:
    browser = AdminBrowser(client)
    assert (await browser.login("manager")).status_code == 302
    return browser


async def test_the_admin_edit_form_refuses_an_account_holding_more(
    as_manager: AdminBrowser, office: BackOffice, boss: Account
) -> None:
    before = await row(office, boss)
    form = {"email": "boss@attacker.example", "username": "boss", "is_active": "y", "is_staff": "y"}

    response = await as_manager.submit(f"/admin/user/edit/{boss.id}", form)

    assert response.status_code == 400
    assert form_error(response.text) == REFUSED
    assert await row(office, boss) == before


async def test_the_admin_edit_form_changes_an_account_holding_less(
    as_manager: AdminBrowser, office: BackOffice, peer: Account
) -> None:
    form = {"email": "peer@example.org", "username": "peer", "is_active": "y", "is_staff": "y"}
    response = await as_manager.submit(f"/admin/user/edit/{peer.id}", form)
    assert response.status_code == 302, form_error(response.text)
    after = await row(office, peer)
    assert after is not None and after["email"] == "peer@example.org"


async def test_the_set_password_page_refuses_an_account_holding_more(
    as_manager: AdminBrowser, client: httpx2.AsyncClient, office: BackOffice, boss: Account
) -> None:
    before = await row(office, boss)
    path = f"/admin/user/set-password/{boss.id}"

    page = await as_manager.client.get(path)
    assert page.status_code == 403
    assert unescape(REFUSED) in unescape(page.text)
    token = await as_manager.token()
    data = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "csrf_token": token}
    response = await as_manager.client.post(path, data=data)

    assert response.status_code == 403
    assert await row(office, boss) == before
    await bearer(client, "boss", DEFAULT_PASSWORD)


async def test_the_set_password_page_resets_an_account_holding_less(
    as_manager: AdminBrowser, client: httpx2.AsyncClient, peer: Account
) -> None:
    response = await set_password(as_manager, peer.id, NEW_PASSWORD)
    assert response.status_code == 302, form_error(response.text)
    await bearer(client, "peer", NEW_PASSWORD)


async def test_the_admin_delete_refuses_an_account_holding_more(
    as_manager: AdminBrowser, office: BackOffice, boss: Account
) -> None:
    response = await as_manager.delete("user", boss.id)
    assert response.status_code == 200
    assert "error=" in response.text and "do+not+hold" in response.text
    assert await row(office, boss) is not None


@pytest.mark.parametrize("action", ["deactivate_selected", "delete_selected"])
async def test_bulk_actions_refuse_an_account_holding_more_and_do_the_others(
    as_manager: AdminBrowser, office: BackOffice, boss: Account, peer: Account, action: str
) -> None:
    before = await row(office, boss)

    _, result = await confirm(as_manager, f"/admin/user/bulk/{action}", [boss.id, peer.id])

    rows = report(result.text)
    assert rows[boss.id][0] == "refused"
    assert unescape(rows[boss.id][1]).endswith(REFUSED)
    assert rows[peer.id][0] == "done"
    assert await row(office, boss) == before
