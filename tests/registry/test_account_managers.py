"""The invoicing example's relation to ``User`` and its per-object rule: a customer with an
account manager is changed or deleted only by that manager or a superuser, through every door."""

import httpx2
from fastapi import FastAPI

from backoffice import BackOffice
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account, bearer, grant, make_user
from tests.registry.test_invoicing_example import signed_in

CUSTOMER_CODES = ["customers.view", "customers.change", "customers.delete"]


async def clerk(office: BackOffice, username: str) -> Account:
    account = await make_user(office, username, is_staff=True)
    await grant(office, account, CUSTOMER_CODES)
    return account


async def managed_customer(
    host: httpx2.AsyncClient, headers: dict[str, str], manager: Account | None
) -> int:
    body = {"name": "ACME", "account_manager_id": None if manager is None else manager.id}
    response = await host.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["account_manager_id"] == body["account_manager_id"]
    return int(response.json()["id"])


async def test_only_the_account_manager_or_a_superuser_changes_a_managed_customer(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    boss = await signed_in(host, office)
    manager, other = await clerk(office, "manager"), await clerk(office, "other")
    managed = await managed_customer(host, boss, manager)
    unmanaged = await managed_customer(host, boss, None)
    as_other = await bearer(host, "other")

    refused = await host.patch(f"/api/customers/{managed}", json={"name": "X"}, headers=as_other)
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "You may not change this customer."
    deleted = await host.delete(f"/api/customers/{managed}", headers=as_other)
    assert deleted.status_code == 403, deleted.text
    seen = await host.get(f"/api/customers/{managed}", headers=as_other)
    assert seen.status_code == 200 and seen.json()["name"] == "ACME"  # still visible

    free = await host.patch(f"/api/customers/{unmanaged}", json={"name": "Y"}, headers=as_other)
    assert free.status_code == 200, free.text
    as_manager = await bearer(host, "manager")
    mine = await host.patch(f"/api/customers/{managed}", json={"name": "M"}, headers=as_manager)
    assert mine.status_code == 200, mine.text
    by_boss = await host.patch(f"/api/customers/{managed}", json={"name": "B"}, headers=boss)
    assert by_boss.status_code == 200, by_boss.text
    assert other.id != manager.id


async def test_the_admin_shows_the_manager_by_label_and_keeps_the_rule(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    boss = await signed_in(host, office)
    manager = await clerk(office, "manager")
    await clerk(office, "other")
    managed = await managed_customer(host, boss, manager)
    browser = AdminBrowser(host)
    assert (await browser.login("other")).status_code == 302
    details = await browser.client.get(f"/admin/customer/details/{managed}")
    assert details.status_code == 200
    # The related account is shown by its label (its username), never its repr.
    assert '<th scope="row" class="w-25">Account manager</th>' in details.text
    assert "<td>manager</td>" in details.text  # no link: "other" may not view users
    assert "hashed_password" not in details.text and "User(" not in details.text
    edit = await browser.client.get(f"/admin/customer/edit/{managed}")
    assert edit.status_code == 403
    listing = await browser.client.get("/admin/customer/list")
    assert listing.status_code == 200 and ">manager<" in listing.text
