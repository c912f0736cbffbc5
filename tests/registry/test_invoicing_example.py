"""A host app's own tables, registered with backoffice, through every door."""

from typing import Any

import httpx2
from fastapi import FastAPI

from backoffice import BackOffice
from examples.invoicing.models import Invoice
from tests.admin.conftest import AdminBrowser, form_error
from tests.conftest import DEFAULT_PASSWORD, grant, make_user


async def signed_in(
    host: httpx2.AsyncClient, office: BackOffice, *, staff: bool = True
) -> dict[str, str]:
    account = await make_user(
        office, "boss" if staff else "clerk", is_staff=staff, is_superuser=staff
    )
    response = await host.post(
        "/api/auth/login", data={"username": account.user.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_invoice(
    host: httpx2.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    customer = await host.post("/api/customers/", json={"name": "ACME"}, headers=headers)
    assert customer.status_code == 201, customer.text
    body = {"number": "INV-1", "customer_id": customer.json()["id"], "amount_cents": 1200}
    response = await host.post("/api/invoices/", json={**body, **overrides}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_host_keeps_its_own_routes(host: httpx2.AsyncClient) -> None:
    assert (await host.get("/")).json()["app"] == "invoicing"


async def test_registered_models_get_rest_routes_in_openapi(host: httpx2.AsyncClient) -> None:
    spec = (await host.get("/openapi.json")).json()
    assert {"/api/invoices/", "/api/invoices/{item_id}", "/api/customers/"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert {"InvoiceCreate", "InvoiceUpdate", "InvoicePublic"} <= set(schemas)
    list_params = {p["name"] for p in spec["paths"]["/api/invoices/"]["get"]["parameters"]}
    assert {"status", "customer_id", "search", "sort", "skip", "limit"} <= list_params


async def test_crud_filters_and_search_through_the_api(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    headers = await signed_in(host, host_app.state.backoffice)
    invoice = await make_invoice(host, headers)
    assert invoice["status"] == "draft"
    changed = await host.patch(
        f"/api/invoices/{invoice['id']}", json={"status": "sent"}, headers=headers
    )
    assert changed.json()["status"] == "sent"
    listed = await host.get("/api/invoices/", params={"status": "sent"}, headers=headers)
    assert [i["number"] for i in listed.json()["items"]] == ["INV-1"]
    assert (await host.get("/api/invoices/", params={"status": "paid"}, headers=headers)).json()[
        "total"
    ] == 0
    found = await host.get("/api/invoices/", params={"search": "inv-"}, headers=headers)
    assert found.json()["total"] == 1
    deleted = await host.delete(f"/api/invoices/{invoice['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await host.get(f"/api/invoices/{invoice['id']}", headers=headers)).status_code == 404


async def test_bad_input_is_a_clear_4xx(host: httpx2.AsyncClient, host_app: FastAPI) -> None:
    headers = await signed_in(host, host_app.state.backoffice)
    await make_invoice(host, headers)
    duplicate = await host.post(
        "/api/invoices/",
        json={"number": "INV-1", "customer_id": 1, "amount_cents": 5},
        headers=headers,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "An invoice with this number exists."
    unknown = await host.post(
        "/api/invoices/",
        json={"number": "INV-2", "customer_id": 999, "amount_cents": 5},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "customer_id"]
    negative = await host.post(
        "/api/invoices/",
        json={"number": "INV-3", "customer_id": 1, "amount_cents": -1},
        headers=headers,
    )
    assert negative.status_code == 422
    bad_filter = await host.get("/api/invoices/", params={"status": "bogus"}, headers=headers)
    assert bad_filter.status_code == 422


async def test_a_paid_invoice_cannot_be_deleted_through_the_api(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    headers = await signed_in(host, host_app.state.backoffice)
    invoice = await make_invoice(host, headers, status="paid")
    response = await host.delete(f"/api/invoices/{invoice['id']}", headers=headers)
    assert response.status_code == 409
    assert response.json()["detail"] == "A paid invoice cannot be deleted."
    assert (await host.get(f"/api/invoices/{invoice['id']}", headers=headers)).status_code == 200


async def test_a_paid_invoice_cannot_be_deleted_through_the_admin(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers, status="paid")
    browser = AdminBrowser(host)
    assert (await browser.login("boss")).status_code == 302
    response = await browser.delete("invoice", invoice["id"])
    assert "A+paid+invoice+cannot+be+deleted" in response.text
    async with office.session() as session:
        assert await session.get(Invoice, invoice["id"]) is not None


async def test_a_paid_invoice_stays_paid_through_the_api(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    """The bypass: set a paid invoice back to draft, change it, set it to paid again."""
    headers = await signed_in(host, host_app.state.backoffice)
    invoice = await make_invoice(host, headers, status="paid")
    url = f"/api/invoices/{invoice['id']}"
    for change in ({"status": "draft"}, {"status": "sent"}, {"amount_cents": 1}):
        response = await host.patch(url, json=change, headers=headers)
        assert response.status_code == 409, (change, response.text)
        assert response.json()["detail"] == "A paid invoice cannot be changed."
    # Sending the status it already has is not a change.
    assert (await host.patch(url, json={"status": "paid"}, headers=headers)).status_code == 200
    assert (await host.get(url, headers=headers)).json() == invoice


async def test_invoice_status_moves_only_along_its_transitions(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    headers = await signed_in(host, host_app.state.backoffice)
    invoice = await make_invoice(host, headers)
    url = f"/api/invoices/{invoice['id']}"
    skipped = await host.patch(url, json={"status": "paid"}, headers=headers)
    assert skipped.status_code == 422
    assert "cannot go from draft to paid (allowed: sent)" in skipped.text
    for status in ("sent", "draft", "sent", "paid"):
        response = await host.patch(url, json={"status": status}, headers=headers)
        assert response.status_code == 200, (status, response.text)
        assert response.json()["status"] == status


async def test_a_paid_invoice_stays_paid_through_the_admin(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers, status="paid")
    browser = AdminBrowser(host)
    assert (await browser.login("boss")).status_code == 302
    form = {
        "number": invoice["number"],
        "customer": str(invoice["customer_id"]),
        "amount_cents": str(invoice["amount_cents"]),
    }
    refused = await browser.submit(
        f"/admin/invoice/edit/{invoice['id']}", {**form, "status": "draft"}
    )
    assert refused.status_code == 400
    assert form_error(refused.text) == "A paid invoice cannot be changed."
    async with office.session() as session:
        stored = await session.get(Invoice, invoice["id"])
        assert stored is not None and stored.status == "paid"


async def test_the_admin_lists_and_creates_invoices_through_the_service(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers)
    browser = AdminBrowser(host)
    assert (await browser.login("boss")).status_code == 302
    page = await host.get("/admin/invoice/list")
    assert page.status_code == 200 and "INV-1" in page.text
    created = await browser.submit(
        "/admin/invoice/create",
        {
            "number": "INV-9",
            "customer": str(invoice["customer_id"]),
            "amount_cents": "50",
            "status": "draft",
        },
    )
    assert created.status_code == 302, form_error(created.text)
    duplicate = await browser.submit(
        "/admin/invoice/create",
        {
            "number": "INV-9",
            "customer": str(invoice["customer_id"]),
            "amount_cents": "5",
            "status": "draft",
        },
    )
    assert duplicate.status_code == 400
    assert form_error(duplicate.text) == "An invoice with this number exists."


async def test_an_ordinary_user_is_refused_every_operation(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    admin_headers = await signed_in(host, office)
    invoice = await make_invoice(host, admin_headers)
    headers = await signed_in(host, office, staff=False)
    for method, path, body in (
        ("GET", "/api/invoices/", None),
        ("GET", f"/api/invoices/{invoice['id']}", None),
        ("POST", "/api/invoices/", {"number": "X", "customer_id": 1, "amount_cents": 1}),
        ("PATCH", f"/api/invoices/{invoice['id']}", {"amount_cents": 2}),
        ("DELETE", f"/api/invoices/{invoice['id']}", None),
    ):
        response = await host.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)


async def test_changes_to_a_registered_resource_are_audited_from_every_door(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers)
    await host.patch(f"/api/invoices/{invoice['id']}", json={"amount_cents": 1500}, headers=headers)
    browser = AdminBrowser(host)
    assert (await browser.login("boss")).status_code == 302
    await browser.submit(
        f"/admin/invoice/edit/{invoice['id']}",
        {
            "number": "INV-1",
            "customer": str(invoice["customer_id"]),
            "amount_cents": "1600",
            "status": "sent",
        },
    )
    entries = (
        await host.get("/api/audit/", params={"object_type": "invoices"}, headers=headers)
    ).json()["items"]
    assert [(e["door"], e["action"]) for e in entries] == [
        ("admin", "update"),
        ("api", "update"),
        ("api", "create"),
    ]
    assert entries[1]["changes"] == {"amount_cents": [1200, 1500]}
    assert entries[0]["changes"] == {"amount_cents": [1500, 1600], "status": ["draft", "sent"]}


async def test_a_staff_user_without_permission_on_invoices_sees_nothing_of_them(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    invoice = await make_invoice(host, await signed_in(host, office))
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["posts.view"])  # something, so the admin has a page to show
    browser = AdminBrowser(host)
    assert (await browser.login("clerk")).status_code == 302

    home = await host.get("/admin/post/list")
    assert home.status_code == 200
    assert "/admin/invoice/list" not in home.text and "/admin/customer/list" not in home.text
    for path in (
        "/admin/invoice/list",
        f"/admin/invoice/details/{invoice['id']}",
        f"/admin/invoice/edit/{invoice['id']}",
        "/admin/invoice/create",
        "/admin/customer/list",
    ):
        assert (await host.get(path)).status_code == 403, path
    api = {"Authorization": f"Bearer {await token_for(host, 'clerk')}"}
    for method, path in (("GET", "/api/invoices/"), ("GET", f"/api/invoices/{invoice['id']}")):
        assert (await host.request(method, path, headers=api)).status_code == 403, path


async def test_the_view_permission_alone_shows_invoices_but_offers_no_change(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    invoice = await make_invoice(host, await signed_in(host, office))
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["invoices.view"])
    browser = AdminBrowser(host)
    assert (await browser.login("clerk")).status_code == 302

    listing = await host.get("/admin/invoice/list")
    assert listing.status_code == 200 and "INV-1" in listing.text
    assert f"/admin/invoice/edit/{invoice['id']}" not in listing.text
    assert "/admin/invoice/create" not in listing.text
    assert (await host.get(f"/admin/invoice/edit/{invoice['id']}")).status_code == 403
    refused = await host.post(
        f"/admin/invoice/edit/{invoice['id']}",
        data={"amount_cents": "1", "csrf_token": await browser.token("/admin/invoice/list")},
    )
    assert refused.status_code == 403
    api = {"Authorization": f"Bearer {await token_for(host, 'clerk')}"}
    assert (await host.get("/api/invoices/", headers=api)).json()["total"] == 1
    changed = await host.patch(
        f"/api/invoices/{invoice['id']}", json={"amount_cents": 1}, headers=api
    )
    assert changed.status_code == 403
    async with office.session() as session:
        stored = await session.get(Invoice, invoice["id"])
        assert stored is not None and stored.amount_cents == 1200


async def token_for(host: httpx2.AsyncClient, login: str) -> str:
    response = await host.post(
        "/api/auth/login", data={"username": login, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
