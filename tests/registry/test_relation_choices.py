"""The invoice form's customer choices follow the caller's view permission on customers."""

import httpx2
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.admin.test_relation_choices import choices, search
from tests.conftest import bearer, grant, make_user


async def test_invoice_customers_follow_the_customers_view_permission(
    host_app: FastAPI, host: httpx2.AsyncClient
) -> None:
    office: BackOffice = host_app.state.backoffice
    await make_user(office, "root", is_staff=True, is_superuser=True)
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["invoices.add"])
    async with office.session() as session:
        customers = office.service("customers", session, Caller.operator("system"))
        acme = await customers.create({"name": "Acme", "email": "billing@acme.test"})
    browser = AdminBrowser(host)
    assert (await browser.login("clerk")).status_code == 302
    assert choices((await host.get("/admin/invoice/create")).text, "customer") == []
    assert await search(browser, "/admin/invoice/choices/customer") == ([], False)
    await grant(office, clerk, ["invoices.add", "customers.view"])
    found = await search(browser, "/admin/invoice/choices/customer")
    assert found == ([(str(acme.id), "Acme")], False)


async def test_both_doors_refuse_a_customer_the_caller_may_not_see(
    host_app: FastAPI, host: httpx2.AsyncClient
) -> None:
    office: BackOffice = host_app.state.backoffice
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["invoices.add"])
    async with office.session() as session:
        customers = office.service("customers", session, Caller.operator("system"))
        acme = await customers.create({"name": "Acme"})
    invoice = {"number": "F-1", "customer_id": acme.id, "amount_cents": 100}
    form = {"number": "F-2", "customer": str(acme.id), "amount_cents": "100", "status": "draft"}
    api = await bearer(host, "clerk")
    refused = await host.post("/api/invoices/", json=invoice, headers=api)
    assert refused.status_code == 422  # as if it did not exist: the caller may not see it
    assert f"customer {acme.id} does not exist" in refused.text
    browser = AdminBrowser(host)
    assert (await browser.login("clerk")).status_code == 302
    assert (await browser.submit("/admin/invoice/create", form)).status_code == 400

    await grant(office, clerk, ["invoices.add", "customers.view"])
    assert (await host.post("/api/invoices/", json=invoice, headers=api)).status_code == 201
    assert (await browser.submit("/admin/invoice/create", form)).status_code == 302
