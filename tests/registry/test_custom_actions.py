"""Custom actions (``@resource_action``): the invoicing example's "Mark paid", one service
method offered as ``POST /api/invoices/{id}/mark_paid``, a button on the admin's details page
(a CSRF-protected POST) and a bulk action, each with its permission and its audit entry."""

import re
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import AuditEntry
from backoffice.services.actions import resource_action
from examples.invoicing.models import Invoice
from examples.invoicing.services import InvoiceService
from tests.admin.conftest import AdminBrowser
from tests.admin.test_bulk import report
from tests.conftest import bearer, grant, make_user
from tests.registry.test_invoicing_example import make_invoice, signed_in


async def audit_entries(office: BackOffice, pk: int) -> list[AuditEntry]:
    async with office.session() as session:
        query = select(AuditEntry).where(
            AuditEntry.object_type == "invoices", AuditEntry.object_id == str(pk)
        )
        return list((await session.exec(query.order_by(col(AuditEntry.id)))).all())


async def stored_status(office: BackOffice, pk: int) -> str:
    async with office.session() as session:
        invoice = await session.get(Invoice, pk)
        assert invoice is not None
        return str(invoice.status)


async def sent_invoice(
    host: httpx2.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    invoice = await make_invoice(host, headers, **overrides)
    response = await host.patch(
        f"/api/invoices/{invoice['id']}", json={"status": "sent"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- the API ------------------------------------------------------------------------------------


async def test_mark_paid_through_the_api_answers_the_row_and_audits_the_action(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await sent_invoice(host, headers)
    response = await host.post(f"/api/invoices/{invoice['id']}/mark_paid", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {**invoice, "status": "paid"}
    last = (await audit_entries(office, invoice["id"]))[-1]
    assert (last.action, last.door, last.actor) == ("mark_paid", "api", "boss")
    assert last.changes == {"status": ["sent", "paid"]}


async def test_the_action_is_in_openapi_with_its_label(host: httpx2.AsyncClient) -> None:
    spec = (await host.get("/openapi.json")).json()
    operation = spec["paths"]["/api/invoices/{item_id}/mark_paid"]["post"]
    assert operation["summary"] == "Mark paid (invoice)"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InvoicePublic"
    }
    assert {"403", "404", "409", "422"} <= set(operation["responses"])


async def test_the_action_needs_its_permission(host: httpx2.AsyncClient, host_app: FastAPI) -> None:
    office = host_app.state.backoffice
    invoice = await sent_invoice(host, await signed_in(host, office))
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["invoices.view"])
    response = await host.post(
        f"/api/invoices/{invoice['id']}/mark_paid", headers=await bearer(host, "viewer")
    )
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "You may not change invoices."
    assert await stored_status(office, invoice["id"]) == "sent"


async def test_a_hidden_row_is_missing_to_the_action(
    host: httpx2.AsyncClient, host_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await sent_invoice(host, headers, number="HIDDEN-1")

    def visible_conditions(self: InvoiceService) -> list[ColumnElement[bool]]:
        return [col(Invoice.number) != "HIDDEN-1"]

    monkeypatch.setattr(InvoiceService, "visible_conditions", visible_conditions)
    for pk in (invoice["id"], invoice["id"] + 1000):
        response = await host.post(f"/api/invoices/{pk}/mark_paid", headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == f"Invoice {pk} does not exist."
    assert await stored_status(office, invoice["id"]) == "sent"


async def test_a_refusal_by_the_rules_is_a_409_and_changes_nothing(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers)  # a draft: not sent yet
    before = await audit_entries(office, invoice["id"])
    response = await host.post(f"/api/invoices/{invoice['id']}/mark_paid", headers=headers)
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (
        "Only a sent invoice can be marked paid; invoice INV-1 is draft."
    )
    assert await stored_status(office, invoice["id"]) == "draft"
    assert await audit_entries(office, invoice["id"]) == before


# -- the admin's details page -------------------------------------------------------------------

_BUTTON = re.compile(r'<form method="POST" action="([^"]+)"[^>]*class="d-inline object-action"')


async def admin_as_boss(host: httpx2.AsyncClient) -> AdminBrowser:
    browser = AdminBrowser(host)
    assert (await browser.login("boss")).status_code == 302
    return browser


async def test_the_details_page_offers_the_button_to_those_the_service_allows(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    invoice = await sent_invoice(host, await signed_in(host, office))
    browser = await admin_as_boss(host)
    page = await browser.client.get(f"/admin/invoice/details/{invoice['id']}")
    assert _BUTTON.findall(page.text) == [
        f"http://testserver/admin/invoice/action/mark_paid/{invoice['id']}"
    ]
    assert 'data-action="mark_paid">Mark paid</button>' in page.text
    customer = await browser.client.get(f"/admin/customer/details/{invoice['customer_id']}")
    assert customer.status_code == 200 and 'id="object-actions"' not in customer.text

    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["invoices.view"])
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        other = AdminBrowser(c)
        assert (await other.login("viewer")).status_code == 302
        page = await other.client.get(f"/admin/invoice/details/{invoice['id']}")
        assert page.status_code == 200 and 'id="object-actions"' not in page.text
        token = await other.token(f"/admin/invoice/details/{invoice['id']}")
        refused = await other.client.post(
            f"/admin/invoice/action/mark_paid/{invoice['id']}", data={"csrf_token": token}
        )
        assert refused.status_code == 403
    assert await stored_status(office, invoice["id"]) == "sent"


async def test_the_button_posts_with_the_csrf_token_flashes_and_goes_back(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    invoice = await sent_invoice(host, await signed_in(host, office))
    browser = await admin_as_boss(host)
    details = f"/admin/invoice/details/{invoice['id']}"
    url = f"/admin/invoice/action/mark_paid/{invoice['id']}"
    forged = await browser.client.post(url, data={})
    assert forged.status_code == 403
    assert await stored_status(office, invoice["id"]) == "sent"

    token = await browser.token(details)
    response = await browser.client.post(url, data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"].endswith(details)
    assert await stored_status(office, invoice["id"]) == "paid"
    page = await browser.client.get(details)
    assert "Paid: INV-1" in page.text
    last = (await audit_entries(office, invoice["id"]))[-1]
    assert (last.action, last.door) == ("mark_paid", "admin")
    history = await browser.client.get(f"/admin/invoice/history/{invoice['id']}")
    assert 'class="history-action" data-label="Action">mark_paid</td>' in history.text


async def test_a_refused_button_flashes_the_reason_and_changes_nothing(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    invoice = await make_invoice(host, await signed_in(host, office))
    browser = await admin_as_boss(host)
    details = f"/admin/invoice/details/{invoice['id']}"
    token = await browser.token(details)
    url = f"/admin/invoice/action/mark_paid/{invoice['id']}"
    response = await browser.client.post(url, data={"csrf_token": token})
    assert response.status_code == 303
    page = await browser.client.get(details)
    assert "Only a sent invoice can be marked paid; invoice INV-1 is draft." in page.text
    assert await stored_status(office, invoice["id"]) == "draft"
    for missing in (f"{invoice['id'] + 1000}", "not-a-key"):
        gone = await browser.client.post(
            f"/admin/invoice/action/mark_paid/{missing}", data={"csrf_token": token}
        )
        assert gone.status_code == 404
    unknown = await browser.client.post(
        f"/admin/invoice/action/no_such/{invoice['id']}", data={"csrf_token": token}
    )
    assert unknown.status_code == 404


# -- the list's bulk action ---------------------------------------------------------------------


async def test_the_action_is_a_bulk_action_with_a_report_per_row(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office = host_app.state.backoffice
    headers = await signed_in(host, office)
    sent = await sent_invoice(host, headers)
    draft = await make_invoice(host, headers, number="INV-2", customer_id=sent["customer_id"])
    browser = await admin_as_boss(host)
    listing = await browser.client.get("/admin/invoice/list")
    assert "/admin/invoice/bulk/mark_paid" in listing.text and "Mark paid" in listing.text
    pks = f"{sent['id']},{draft['id']}"
    confirm = await browser.client.get("/admin/invoice/bulk/mark_paid", params={"pks": pks})
    assert confirm.status_code == 200 and "Yes, mark paid" in confirm.text
    assert await stored_status(office, sent["id"]) == "sent"  # the GET changes nothing
    token = await browser.token("/admin/invoice/list")
    done = await browser.client.post(
        "/admin/invoice/bulk/mark_paid", data={"pks": pks, "csrf_token": token}
    )
    assert done.status_code == 200
    assert report(done.text) == {
        sent["id"]: ("done", "Paid"),
        draft["id"]: (
            "refused",
            "Refused: Only a sent invoice can be marked paid; invoice INV-2 is draft.",
        ),
    }
    assert await stored_status(office, sent["id"]) == "paid"
    assert await stored_status(office, draft["id"]) == "draft"


async def test_what_an_action_sets_must_fit_its_columns(
    host: httpx2.AsyncClient, host_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The method is the host's code: a value its column cannot store is a 422 naming the
    field, not a database error, and nothing is written."""
    office = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await sent_invoice(host, headers)

    @resource_action("Mark paid", done="Paid")
    async def mark_paid(self: InvoiceService, obj: Invoice) -> None:
        obj.number = "N" * 31  # the column holds 30

    monkeypatch.setattr(InvoiceService, "mark_paid", mark_paid)
    response = await host.post(f"/api/invoices/{invoice['id']}/mark_paid", headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == "number"
    assert (await host.get(f"/api/invoices/{invoice['id']}", headers=headers)).json() == invoice
