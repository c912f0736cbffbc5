"""List filters by column type, for a service's ``filter_fields``: an enum offers its choices,
a foreign key "is empty / is not empty" or one related row (named by its label), a number or a
date a range. A value the field cannot hold is a 400, never a 500 (SQLite and PostgreSQL)."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import httpx2
import pytest
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings
from backoffice.services import Caller
from examples.invoicing.admin import CustomerAdmin, InvoiceAdmin
from examples.invoicing.models import Customer, Invoice, InvoiceLine
from examples.invoicing.services import CustomerService, InvoiceLineService, InvoiceService
from tests.admin import rules_models
from tests.admin.rules_models import Library, scene, signed_in_as
from tests.conftest import grant, make_user

Shop = tuple[BackOffice, httpx2.AsyncClient]
library = rules_models.library  # the fixture


class FilteredInvoices(InvoiceService):
    filter_fields: ClassVar[tuple[str, ...]] = (
        "status",
        "customer_id",
        "amount_cents",
        "created_at",
    )


@pytest.fixture
async def shop(settings: Settings) -> AsyncIterator[Shop]:
    office = BackOffice(settings)
    office.register(Customer, name="customers", service=CustomerService, admin=CustomerAdmin)
    office.register(Invoice, name="invoices", service=FilteredInvoices, admin=InvoiceAdmin)
    office.register(InvoiceLine, name="invoice_lines", service=InvoiceLineService)  # its inline
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    async with office.session() as session:
        customers = office.service("customers", session, Caller.operator("system"))
        acme = await customers.create({"name": "Acme"})
        zeta = await customers.create({"name": "Zeta"})
        invoices = office.service("invoices", session, Caller.operator("system"))
        for number, (customer, cents) in enumerate(((acme, 100), (acme, 5000), (zeta, 90000))):
            await invoices.create(
                {"number": f"INV-{number}", "customer_id": customer.id, "amount_cents": cents}
            )
        sent = await invoices.create({"number": "INV-9", "customer_id": zeta.id, "amount_cents": 7})
        await invoices.update(sent.id, {"status": "sent"})
    await make_user(office, "root", is_staff=True, is_superuser=True)
    transport = httpx2.ASGITransport(app=office.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield office, client
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
    await office.dispose()


def numbers(html: str) -> list[str]:
    return sorted(set(re.findall(r"INV-\d+", html)))


async def test_an_enum_offers_its_choices(shop: Shop) -> None:
    _, client = shop
    root = await signed_in_as(client, "root")
    page = await root.client.get("/admin/invoice/list")
    assert "status=paid" in page.text and "Starts with" not in page.text.split("Status")[-1][:400]
    assert numbers((await root.client.get("/admin/invoice/list?status=sent")).text) == ["INV-9"]
    bad = await root.client.get("/admin/invoice/list?status=lost")
    assert bad.status_code == 400 and "choose one of" in bad.text


async def test_a_foreign_key_filters_by_related_row_or_emptiness(shop: Shop) -> None:
    office, client = shop
    root = await signed_in_as(client, "root")
    page = await root.client.get("/admin/invoice/list?customer_id=2")
    assert numbers(page.text) == ["INV-2", "INV-9"]
    chosen = re.search(r'<select name="customer_id"[^>]*>(.*?)</select>', page.text, re.S)
    assert chosen and '<option value="2" selected>Zeta</option>' in chosen.group(1)
    assert 'data-choices-url="http://testserver/admin/invoice/choices/customer"' in page.text
    assert "Greater than" not in page.text
    everything = await root.client.get("/admin/invoice/list?customer_id=__not_empty")
    assert len(numbers(everything.text)) == 4
    assert numbers((await root.client.get("/admin/invoice/list?customer_id=__empty")).text) == []
    for bad in ("abc", "99999999999999999999"):
        response = await root.client.get(f"/admin/invoice/list?customer_id={bad}")
        assert response.status_code == 400, bad
    # A viewer of invoices who may not view customers: the key, never the name.
    viewer = await make_user(office, "viewer", is_staff=True)
    await grant(office, viewer, ["invoices.view"])
    browser = await signed_in_as(client, "viewer")
    page = await browser.client.get("/admin/invoice/list?customer_id=2")
    assert page.status_code == 200
    chosen = re.search(r'<select name="customer_id"[^>]*>(.*?)</select>', page.text, re.S)
    assert chosen and chosen.group(1).strip() == '<option value="2" selected>#2</option>'
    assert "/admin/customer/details/" not in page.text  # the cell: a label, not a link
    found = await browser.client.get("/admin/invoice/choices/customer")
    assert found.json() == {"results": [], "more": False}


async def test_numbers_and_dates_take_a_range(shop: Shop) -> None:
    _, client = shop
    root = await signed_in_as(client, "root")
    page = await root.client.get("/admin/invoice/list?amount_cents__gte=100&amount_cents__lte=5000")
    assert numbers(page.text) == ["INV-0", "INV-1"]
    assert 'name="amount_cents__gte" value="100"' in page.text
    assert numbers((await root.client.get("/admin/invoice/list?amount_cents__gte=6000")).text) == [
        "INV-2"
    ]
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    assert (
        len(numbers((await root.client.get(f"/admin/invoice/list?created_at__lte={today}")).text))
        == 4
    )
    assert (
        numbers((await root.client.get(f"/admin/invoice/list?created_at__gte={tomorrow}")).text)
        == []
    )
    for bad in (
        "amount_cents__gte=lots",
        "amount_cents__lte=99999999999999999999999",
        "created_at__gte=yesterday",
        "created_at__lte=2026-13-45",
    ):
        response = await root.client.get(f"/admin/invoice/list?{bad}")
        assert response.status_code == 400, bad


async def test_a_boolean_is_yes_or_no(library: Library) -> None:
    office, client = library
    await scene(office)
    root = await signed_in_as(client, "root")
    returned = await root.client.get("/admin/loan/list?returned=true")
    assert "Mine returned" in returned.text and "Mine open" not in returned.text
    assert "Greater than" not in returned.text
    kept = await root.client.get("/admin/loan/list?returned=false")
    assert "Mine open" in kept.text and "Mine returned" not in kept.text
    assert (await root.client.get("/admin/loan/list?returned=maybe")).status_code == 400
