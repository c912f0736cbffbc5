"""The invoicing example's custom action in a real browser: the "Mark paid" button on an
invoice's details page POSTs its form (CSRF token included) and comes back with the result."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from backoffice import BackOffice, Settings
from backoffice.services import Caller
from examples.invoicing.app import create_app
from tests.browser.conftest import _page, _prepare, _run_in_own_thread, live_settings
from tests.browser.test_admin_in_chromium import sign_in
from tests.servers import ServerThread

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("BACKOFFICE_TEST_SCREENSHOTS", "")
"""A folder to keep the screenshots in (else the test's temporary folder)."""


async def _with_a_sent_invoice(settings: Settings, office: BackOffice) -> None:
    await _prepare(settings)
    try:
        async with office.session() as session:
            system = Caller.operator("system")
            customer = await office.service("customers", session, system).create(
                {"name": "ACME Rockets", "email": "billing@acme.example"}
            )
            invoices = office.service("invoices", session, system)
            invoice = await invoices.create(
                {"number": "INV-2026-001", "customer_id": customer.id, "amount_cents": 125000}
            )
            await invoices.update(invoice.id, {"status": "sent"})
    finally:
        await office.dispose()  # its connections belonged to this thread's loop


@pytest.fixture
def invoicing_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """The invoicing example under a real uvicorn, with one sent invoice (id 1)."""
    port, settings = live_settings(tmp_path, "invoicing")
    base_url = settings.base_url
    app = create_app(settings)
    _run_in_own_thread(_with_a_sent_invoice(settings, app.state.backoffice))
    server = ServerThread(app, port=port, timeout=20)
    server.start()
    try:
        yield from _page(browser, base_url)
    finally:
        server.stop()


def shoot(page: Page, folder: Path, name: str) -> None:
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def test_staff_marks_a_sent_invoice_paid_from_its_details_page(
    invoicing_page: Page, tmp_path: Path
) -> None:
    page, folder = invoicing_page, Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/details/1")
    button = page.get_by_role("button", name="Mark paid")
    expect(button).to_be_visible()
    expect(page.locator("table")).to_contain_text("sent")
    expect(page.locator("table")).to_contain_text("ACME Rockets")  # the customer, by label
    shoot(page, folder, "invoice-details")

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.set_viewport_size({"width": 1366, "height": 900})
    button.click()
    expect(page).to_have_url(re.compile(r"/admin/invoice/details/1$"))
    expect(page.locator("#messages")).to_contain_text("Paid: INV-2026-001")
    expect(page.locator("table")).to_contain_text("paid")
    assert questions == ["Mark this invoice as paid? A paid invoice cannot be changed again."]
    expect(page.locator("#messages .alert")).to_be_visible()
    page.wait_for_timeout(400)  # let the page settle, for the screenshots
    shoot(page, folder, "invoice-paid")

    # Again: the service refuses (a paid invoice is final) and the page says why.
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator("#messages")).to_contain_text("Only a sent invoice can be marked paid")
    page.goto("/admin/invoice/history/1")
    expect(page.locator("#history .history-action").first).to_have_text("mark_paid")
