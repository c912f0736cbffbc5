"""The searchable relation field in a real browser: on the invoicing example's invoice form,
type part of a customer's name, pick one with the keyboard, save; the invoice names them."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backoffice import BackOffice, Settings
from backoffice.services import Caller
from examples.invoicing import models as invoicing_models
from examples.invoicing.app import create_app
from tests.browser.conftest import _page, _prepare, _run_in_own_thread, live_settings
from tests.browser.test_admin_in_chromium import sign_in
from tests.servers import ServerThread

pytestmark = pytest.mark.browser
assert invoicing_models  # the host's tables join the metadata before _prepare creates them

SHOTS = os.environ.get("BACKOFFICE_TEST_SCREENSHOTS")
"""A folder to save screenshots in (none: no screenshots)."""


async def _customers(settings: Settings) -> None:
    office = BackOffice(settings)
    office.register(invoicing_models.Customer, name="customers")
    office.register(invoicing_models.Invoice, name="invoices")
    try:
        async with office.session() as session:
            service = office.service("customers", session, Caller.operator("system"))
            invoices = office.service("invoices", session, Caller.operator("system"))
            for number in range(30):
                customer = await service.create({"name": f"Customer {number:02}"})
                await invoices.create(
                    {"number": f"OLD-{number:02}", "customer_id": customer.id, "amount_cents": 1}
                )
            await service.create({"name": "Zebra Logistics", "email": "z@example.com"})
    finally:
        await office.dispose()


@pytest.fixture
def invoicing_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    port, settings = live_settings(tmp_path, "invoicing")
    base_url = settings.base_url
    _run_in_own_thread(_prepare(settings))
    _run_in_own_thread(_customers(settings))
    server = ServerThread(create_app(settings), port=port, timeout=20)
    server.start()
    try:
        yield from _page(browser, base_url)
    finally:
        server.stop()


def test_typing_in_the_customer_field_finds_one_and_the_invoice_is_saved(
    invoicing_page: Page,
) -> None:
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/create")
    assert page.locator("select[name=customer] option:not([value='__None'])").count() == 0
    search = page.get_by_role("combobox", name="Customer")
    page.fill("input[name=number]", "INV-0001")
    assert page.locator("select[name=customer]").is_hidden()
    search.click()
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(21)  # 20 customers and "More…"
    search.press_sequentially("zebra")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox).to_contain_text("Zebra Logistics")
    for width, height in ((1366, 768), (390, 844)):
        if SHOTS:
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=f"{SHOTS}/invoice-form-{width}.png", full_page=True)
    search.press("ArrowDown")
    search.press("Enter")
    expect(search).to_have_value("Zebra Logistics")
    expect(listbox).to_be_hidden()
    page.fill("input[name=amount_cents]", "12500")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/invoice/list"))
    page.goto("/admin/invoice/list?search=INV-0001")
    expect(page.locator("table")).to_contain_text("INV-0001")
    expect(page.locator("table")).to_contain_text("Zebra Logistics")


def test_the_invoice_list_is_filtered_by_a_customer_picked_by_name(invoicing_page: Page) -> None:
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/list?amount_cents__gte=1")
    search = page.get_by_role("combobox", name="Customer")
    search.click()
    search.press_sequentially("customer 07")
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(1)
    search.press("ArrowDown")
    search.press("Enter")  # picking submits the filter
    expect(page).to_have_url(re.compile(r"customer_id=\d+"))
    expect(page).to_have_url(re.compile(r"amount_cents__gte=1"))  # the other filter stays
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table")).to_contain_text("OLD-07")
    expect(page.get_by_role("combobox", name="Customer")).to_have_value("Customer 07")
    for width, height in ((1366, 768), (390, 844)):
        if SHOTS:
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=f"{SHOTS}/invoice-list-filtered-{width}.png", full_page=True)


def test_a_pick_made_while_a_search_is_pending_stays_picked(invoicing_page: Page) -> None:
    """A row picked before the typed search has answered: that search's answer must not open
    the list again over the next fields (a click there would pick another row)."""
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/create")
    search = page.get_by_role("combobox", name="Customer")
    search.click()
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(21)
    # Type and pick in one go, so the pick surely comes before the delayed search is sent.
    picked = page.evaluate(
        """() => {
            const input = document.activeElement;
            input.value = 'zeb';
            input.dispatchEvent(new Event('input', {bubbles: true}));
            const option = document.querySelector('[role=option][data-id]');
            option.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, cancelable: true}));
            return [option.getAttribute('data-id'), option.textContent];
        }"""
    )
    page.wait_for_timeout(800)  # past the typing delay and the search's answer
    expect(listbox).to_be_hidden()
    expect(search).to_have_value(picked[1])
    assert page.locator("select[name=customer]").input_value() == picked[0]
