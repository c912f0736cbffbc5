"""Inline child rows and list-editable columns over HTTP, on the invoicing example: every row
through its own service in one unit of work, all or nothing, the reasons beside the rows."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from backoffice import BackOffice
from backoffice.models import AuditEntry
from backoffice.services import Caller
from examples.invoicing.models import Invoice, InvoiceLine, InvoiceStatus
from tests.admin.conftest import AdminBrowser, csrf_token
from tests.conftest import make_user

_ROW_ERROR = re.compile(r'class="invalid-feedback d-block bo-(?:cell|row)-error">([^<]*)<')


@pytest.fixture
async def boss(host_app: FastAPI) -> AsyncIterator[AdminBrowser]:
    office: BackOffice = host_app.state.backoffice
    await make_user(office, "boss", is_staff=True, is_superuser=True)
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = AdminBrowser(client)
        assert (await browser.login("boss")).status_code == 302
        yield browser


async def seed(office: BackOffice, *statuses: InvoiceStatus) -> list[int]:
    """A customer and one invoice per status; the first (a draft) has two lines."""
    async with office.session() as session:
        system = Caller.operator("system")
        customer = await office.service("customers", session, system).create({"name": "ACME"})
        invoices = office.service("invoices", session, system)
        ids = []
        for number, status in enumerate(statuses, start=1):
            invoice = await invoices.create(
                {"number": f"INV-{number}", "customer_id": customer.id, "amount_cents": 100}
            )
            if status != InvoiceStatus.draft:
                await invoices.update(invoice.id, {"status": "sent"})
            if status == InvoiceStatus.paid:
                await invoices.update(invoice.id, {"status": "paid"})
            ids.append(invoice.id)
        lines = office.service("invoice_lines", session, system)
        for description in ("Rockets", "Fuel"):
            await lines.create(
                {"invoice_id": ids[0], "description": description, "unit_price_cents": 500}
            )
        return ids


async def lines_of(office: BackOffice, invoice_id: int) -> list[tuple[str, int, int]]:
    async with office.session() as session:
        query = (
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.id))
        )
        rows = (await session.exec(query)).all()
        return [(r.description, r.quantity, r.unit_price_cents) for r in rows]


async def audit_count(office: BackOffice) -> int:
    async with office.session() as session:
        return len((await session.exec(select(AuditEntry))).all())


def invoice_form(number: str, customer: int, status: str = "draft") -> dict[str, str]:
    return {"number": number, "customer": str(customer), "amount_cents": "100", "status": status}


def line(prefix: int, pk: Any, description: str, quantity: str, price: str) -> dict[str, str]:
    p = f"invoice_lines-{prefix}"
    return {
        f"{p}-id": str(pk or ""),
        f"{p}-description": description,
        f"{p}-quantity": quantity,
        f"{p}-unit_price_cents": price,
    }


async def line_ids(office: BackOffice, invoice_id: int) -> list[int]:
    async with office.session() as session:
        query = select(InvoiceLine.id).where(col(InvoiceLine.invoice_id) == invoice_id)
        return sorted(i for i in (await session.exec(query)).all() if i is not None)


async def test_the_edit_page_shows_the_lines_with_blank_rows_and_help_texts(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    [invoice] = await seed(office, InvoiceStatus.draft)
    page = await boss.client.get(f"/admin/invoice/edit/{invoice}")
    assert page.status_code == 200
    assert 'name="invoice_lines-TOTAL" value="4"' in page.text  # two lines, two blank rows
    assert 'value="Rockets"' in page.text and 'value="Fuel"' in page.text
    assert '<legend class="bo-fieldset-title">Billing</legend>' in page.text
    assert "The total, in cents." in page.text  # Field(description=...) as help text


async def test_an_inline_add_change_and_delete_are_saved_with_the_parent(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    [invoice] = await seed(office, InvoiceStatus.draft)
    rockets, fuel = await line_ids(office, invoice)
    before = await audit_count(office)
    data = {
        **invoice_form("INV-1-A", 1),
        "invoice_lines-TOTAL": "3",
        **line(0, rockets, "Rockets, large", "2", "900"),
        **line(1, fuel, "Fuel", "1", "500"),
        "invoice_lines-1-DELETE": "on",
        **line(2, None, "Launch pad", "1", "10000"),
    }
    response = await boss.submit(f"/admin/invoice/edit/{invoice}", data)
    assert response.status_code == 302, _ROW_ERROR.findall(response.text)
    assert await lines_of(office, invoice) == [("Rockets, large", 2, 900), ("Launch pad", 1, 10000)]
    async with office.session() as session:
        saved = await session.get(Invoice, invoice)
        assert saved is not None and saved.number == "INV-1-A"
    # Each row through its own service: the invoice, a change, a delete and an add, audited.
    assert await audit_count(office) == before + 4


async def test_a_refused_line_refuses_the_whole_save_with_its_reason_beside_it(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    [invoice] = await seed(office, InvoiceStatus.draft)
    rockets, fuel = await line_ids(office, invoice)
    before_lines, before_audit = await lines_of(office, invoice), await audit_count(office)
    data = {
        **invoice_form("INV-1-RENAMED", 1),
        "invoice_lines-TOTAL": "4",
        **line(0, rockets, "Rockets", "3", "500"),  # a valid change
        **line(1, fuel, "Fuel", "1", "500"),
        "invoice_lines-1-DELETE": "on",  # a valid delete
        **line(2, None, "Rockets", "1", "1"),  # refused: a second line "Rockets"
        **line(3, None, "Spares", "0", "1"),  # refused: a quantity of 0
    }
    response = await boss.submit(f"/admin/invoice/edit/{invoice}", data)
    assert response.status_code == 400
    assert "Nothing was saved: 2 rows were refused" in response.text
    errors = _ROW_ERROR.findall(response.text)
    assert any("already has a line" in e for e in errors), errors
    assert any("greater than or equal to 1" in e for e in errors), errors
    assert 'value="Spares"' in response.text  # what was typed is shown again
    # Nothing written: not the invoice, not the valid rows, no audit entry.
    assert await lines_of(office, invoice) == before_lines
    assert await audit_count(office) == before_audit
    async with office.session() as session:
        saved = await session.get(Invoice, invoice)
        assert saved is not None and saved.number == "INV-1"


async def test_a_line_of_another_invoice_cannot_be_changed_through_this_one(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    first, second = await seed(office, InvoiceStatus.draft, InvoiceStatus.draft)
    rockets, _ = await line_ids(office, first)
    data = {
        **invoice_form("INV-2", 1),
        "invoice_lines-TOTAL": "1",
        **line(0, rockets, "Stolen", "1", "1"),
    }
    response = await boss.submit(f"/admin/invoice/edit/{second}", data)
    assert response.status_code == 400
    assert "is not part of this row" in response.text
    assert (await lines_of(office, first))[0][0] == "Rockets"


async def test_a_malformed_row_count_or_key_is_a_400(host_app: FastAPI, boss: AdminBrowser) -> None:
    office = host_app.state.backoffice
    [invoice] = await seed(office, InvoiceStatus.draft)
    for extra in (
        {"invoice_lines-TOTAL": "100000"},
        {"invoice_lines-TOTAL": "1", "invoice_lines-0-id": "99999999999"},
        {"invoice_lines-TOTAL": "1", "invoice_lines-0-id": "x"},
    ):
        response = await boss.submit(
            f"/admin/invoice/edit/{invoice}", {**invoice_form("INV-1", 1), **extra}
        )
        assert response.status_code == 400, extra


async def test_a_new_invoice_is_created_with_its_lines_in_one_unit_of_work(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    await seed(office, InvoiceStatus.draft)
    data = {
        **invoice_form("INV-9", 1),
        "invoice_lines-TOTAL": "2",
        **line(0, None, "Nose cone", "1", "300"),
        **line(1, None, "Nose cone", "1", "300"),  # refused: twice the same line
    }
    response = await boss.submit("/admin/invoice/create", data)
    assert response.status_code == 400
    async with office.session() as session:
        found = (await session.exec(select(Invoice).where(Invoice.number == "INV-9"))).first()
        assert found is None  # the invoice is not created without its lines
    data = {**data, **line(1, None, "Fins", "4", "50")}
    response = await boss.submit("/admin/invoice/create", data)
    assert response.status_code == 302
    async with office.session() as session:
        found = (await session.exec(select(Invoice).where(Invoice.number == "INV-9"))).first()
        assert found is not None and found.id is not None
    assert await lines_of(office, found.id) == [("Nose cone", 1, 300), ("Fins", 4, 50)]


# -- list-editable columns ---------------------------------------------------------------------


def cells(pk: int, amount: str, status: str) -> dict[str, str]:
    return {f"row-{pk}-amount_cents": amount, f"row-{pk}-status": status}


async def states(office: BackOffice) -> dict[int, tuple[int, str]]:
    async with office.session() as session:
        rows = (await session.exec(select(Invoice))).all()
        return {r.id: (r.amount_cents, r.status.value) for r in rows if r.id is not None}


async def test_the_list_shows_inputs_for_the_editable_columns(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    draft, _ = await seed(office, InvoiceStatus.draft, InvoiceStatus.sent)
    page = await boss.client.get("/admin/invoice/list")
    assert f'name="row-{draft}-amount_cents"' in page.text
    assert f"name='row-{draft}-status'" in page.text or f'name="row-{draft}-status"' in page.text
    assert 'form="list-edit"' in page.text or "form='list-edit'" in page.text


async def test_a_list_save_with_one_refused_row_writes_nothing(
    host_app: FastAPI, boss: AdminBrowser
) -> None:
    office = host_app.state.backoffice
    draft, sent = await seed(office, InvoiceStatus.draft, InvoiceStatus.sent)
    before, before_audit = await states(office), await audit_count(office)
    page = await boss.client.get("/admin/invoice/list")
    token = csrf_token(page.text)
    data = {
        "csrf_token": token,
        "pks": f"{sent},{draft}",  # the refused row last: the valid one ran first
        **cells(draft, "250", "sent"),  # fine alone
        **cells(sent, "100", "sent"),
    }
    data[f"row-{draft}-status"] = "paid"  # refused: a draft cannot be paid
    data[f"row-{sent}-amount_cents"] = "999"
    response = await boss.client.post("/admin/invoice/list-edit", data=data)
    assert response.status_code == 400
    errors = _ROW_ERROR.findall(response.text)
    assert any("cannot go from draft to paid" in e for e in errors), errors
    assert 'value="999"' in response.text  # what was typed stays in place
    assert await states(office) == before  # all or nothing
    assert await audit_count(office) == before_audit

    data[f"row-{draft}-status"] = "sent"
    response = await boss.client.post("/admin/invoice/list-edit", data=data)
    assert response.status_code == 303
    assert await states(office) == {draft: (250, "sent"), sent: (999, "sent")}


async def test_list_edit_needs_the_change_permission_and_csrf(host_app: FastAPI) -> None:
    office = host_app.state.backoffice
    draft, _ = await seed(office, InvoiceStatus.draft, InvoiceStatus.sent)
    viewer = await make_user(office, "viewer", is_staff=True)
    async with office.session() as session:
        from backoffice.models import UserAccess

        await office.permissions(session, Caller.operator("system")).set_access(
            viewer.id, UserAccess(permissions=["invoices.view"])
        )
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = AdminBrowser(client)
        assert (await browser.login("viewer")).status_code == 302
        page = await client.get("/admin/invoice/list")
        assert 'name="row-' not in page.text  # no inputs for a viewer
        data = {
            "csrf_token": csrf_token(page.text),
            "pks": str(draft),
            **cells(draft, "1", "draft"),
        }
        assert (await client.post("/admin/invoice/list-edit", data=data)).status_code == 403
        del data["csrf_token"]
        assert (await client.post("/admin/invoice/list-edit", data=data)).status_code == 403
    assert (await states(office))[draft] == (100, "draft")
