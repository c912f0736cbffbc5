"""Editing depth in a real browser: an invoice's lines edited on its page (inlines), the
invoice list's editable columns, and the two-sided chooser of groups and permissions.

Set BACKOFFICE_TEST_SCREENSHOTS to a folder to keep the pages' screenshots (1366 and 390 px).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backoffice import BackOffice, Settings
from backoffice.services import Caller
from examples.invoicing.app import create_app
from tests.browser.conftest import _page, _prepare, _run_in_own_thread, live_settings
from tests.browser.test_admin_in_chromium import sign_in
from tests.servers import ServerThread

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("BACKOFFICE_TEST_SCREENSHOTS", "")


def shoot(page: Page, folder: Path, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    chosen = Path(SHOTS) if SHOTS else tmp_path
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


async def _with_invoices(settings: Settings, office: BackOffice) -> None:
    """A draft invoice (id 1) with two lines, and a sent one (id 2)."""
    await _prepare(settings)
    try:
        async with office.session() as session:
            system = Caller.operator("system")
            customer = await office.service("customers", session, system).create(
                {"name": "ACME Rockets", "email": "billing@acme.example"}
            )
            invoices = office.service("invoices", session, system)
            draft = await invoices.create(
                {"number": "INV-2026-001", "customer_id": customer.id, "amount_cents": 125000}
            )
            sent = await invoices.create(
                {"number": "INV-2026-002", "customer_id": customer.id, "amount_cents": 9900}
            )
            await invoices.update(sent.id, {"status": "sent"})
            lines = office.service("invoice_lines", session, system)
            for description, price in (("Rocket engine", 100000), ("Fuel, 1 tonne", 25000)):
                await lines.create(
                    {"invoice_id": draft.id, "description": description, "unit_price_cents": price}
                )
    finally:
        await office.dispose()


@pytest.fixture
def invoicing_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    port, settings = live_settings(tmp_path, "editing")
    app = create_app(settings)
    _run_in_own_thread(_with_invoices(settings, app.state.backoffice))
    server = ServerThread(app, port=port, timeout=20)
    server.start()
    try:
        yield from _page(browser, settings.base_url)
    finally:
        server.stop()


def cell(page: Page, index: int, name: str) -> str:
    return f"[name='invoice_lines-{index}-{name}']"


def test_inline_lines_are_added_changed_and_deleted_in_one_save(
    invoicing_page: Page, folder: Path
) -> None:
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/edit/1")
    expect(page.locator(cell(page, 0, "description"))).to_have_value("Rocket engine")
    expect(page.get_by_text("The total, in cents.")).to_be_visible()  # a help text
    shoot(page, folder, "invoice-edit-inlines")

    page.fill(cell(page, 0, "quantity"), "2")  # change
    page.check("[name='invoice_lines-1-DELETE']")  # delete
    page.get_by_role("button", name="Add another invoice line").click()  # 2 blank rows + 1
    expect(page.locator("[name='invoice_lines-TOTAL']")).to_have_value("5")
    page.fill(cell(page, 4, "description"), "Launch insurance")  # add, in the added row
    page.fill(cell(page, 4, "unit_price_cents"), "5000")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/invoice/list"))

    page.goto("/admin/invoice/edit/1")
    expect(page.locator(cell(page, 0, "description"))).to_have_value("Rocket engine")
    expect(page.locator(cell(page, 0, "quantity"))).to_have_value("2")
    expect(page.locator(cell(page, 1, "description"))).to_have_value("Launch insurance")
    expect(page.locator(cell(page, 1, "unit_price_cents"))).to_have_value("5000")
    expect(page.locator("input[value='Fuel, 1 tonne']")).to_have_count(0)


def test_a_line_refused_by_its_service_refuses_the_whole_save(
    invoicing_page: Page, folder: Path
) -> None:
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/edit/1")
    page.fill("input[name=number]", "INV-2026-001-B")
    page.fill(cell(page, 0, "quantity"), "3")
    page.fill(cell(page, 2, "description"), "Fuel, 1 tonne")  # the same as line 2: refused
    page.fill(cell(page, 2, "unit_price_cents"), "1")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#form-problems")).to_contain_text("Nothing was saved: 1 row was refused")
    refused = page.locator("tr.bo-inline-row[data-index='2']")
    expect(refused.locator(".bo-cell-error")).to_contain_text(
        "This invoice already has a line \u201cFuel, 1 tonne\u201d."
    )
    expect(refused).to_have_class(re.compile("table-danger"))
    expect(page.locator(cell(page, 0, "quantity"))).to_have_value("3")  # as typed
    shoot(page, folder, "invoice-edit-refused")

    page.goto("/admin/invoice/edit/1")  # nothing was written
    expect(page.locator("input[name=number]")).to_have_value("INV-2026-001")
    expect(page.locator(cell(page, 0, "quantity"))).to_have_value("1")
    expect(page.locator("[name='invoice_lines-TOTAL']")).to_have_value("4")


def test_a_list_save_with_one_refused_row_saves_nothing_and_says_why_in_place(
    invoicing_page: Page, folder: Path
) -> None:
    page = invoicing_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/admin/invoice/list")
    shoot(page, folder, "invoice-list-editable")
    page.fill("[name='row-2-amount_cents']", "10900")
    page.select_option("[name='row-1-status']", "paid")  # a draft cannot be paid: refused
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator("#list-edit-error")).to_be_visible()
    expect(page.locator(".bo-cell-error")).to_contain_text("cannot go from draft to paid")
    expect(page.locator("[name='row-2-amount_cents']")).to_have_value("10900")  # as typed
    shoot(page, folder, "invoice-list-refused")
    page.goto("/admin/invoice/list")
    expect(page.locator("[name='row-2-amount_cents']")).to_have_value("9900")  # not saved

    page.fill("[name='row-2-amount_cents']", "10900")
    page.select_option("[name='row-1-status']", "sent")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#messages")).to_contain_text("Saved 2 rows.")
    expect(page.locator("[name='row-2-amount_cents']")).to_have_value("10900")
    expect(page.locator("[name='row-1-status']")).to_have_value("sent")


def test_the_chooser_moves_groups_and_permissions_and_saves_the_memberships(
    page: Page, folder: Path
) -> None:
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    # A group, its permissions picked with the chooser's filter.
    page.goto("/admin/group/create")
    page.fill("input[name=name]", "Editors")
    chooser = page.locator(".bo-chooser")
    expect(page.locator("select[name=permissions]")).to_be_hidden()
    chooser.locator(".bo-chooser-search").fill("posts")
    available = chooser.locator(".bo-chooser-available option")
    expect(available).to_have_count(4)
    chooser.get_by_role("button", name="Choose all shown").click()
    expect(chooser.locator(".bo-chooser-chosen option")).to_have_count(4)
    chooser.get_by_role("button", name="Remove all").click()
    expect(chooser.locator(".bo-chooser-chosen option")).to_have_count(0)
    chooser.locator(".bo-chooser-search").fill("change posts")
    chooser.locator(".bo-chooser-available").select_option(label="Can change posts (posts.change)")
    chooser.get_by_role("button", name="Choose selected").click()
    expect(chooser.locator(".bo-chooser-chosen")).to_contain_text("Can change posts")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/group/list"))

    # The plain user: into the group, and one permission of their own.
    page.goto("/admin/user/edit/2")  # the plain user (tests/browser/conftest.py)
    expect(page.locator("input[name=username]")).to_have_value("plain")
    expect(page.get_by_text("Groups and permissions")).to_be_visible()  # a fieldset
    groups = page.locator(".bo-chooser").nth(0)
    permissions = page.locator(".bo-chooser").nth(1)
    groups.locator(".bo-chooser-available option", has_text="Editors").dblclick()
    expect(groups.locator(".bo-chooser-chosen")).to_contain_text("Editors")
    permissions.locator(".bo-chooser-search").fill("view users")
    expect(permissions.locator(".bo-chooser-available option")).to_have_count(1)
    permissions.locator(".bo-chooser-available option").first.dblclick()
    expect(permissions.locator(".bo-chooser-chosen")).to_contain_text("Can view users")
    page.set_viewport_size({"width": 1366, "height": 900})
    shoot(page, folder, "user-form-chooser")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))

    page.goto("/admin/user/edit/2")
    expect(page.locator(".bo-chooser").nth(0).locator(".bo-chooser-chosen")).to_contain_text(
        "Editors"
    )
    chosen = page.locator(".bo-chooser").nth(1).locator(".bo-chooser-chosen option")
    expect(chosen).to_have_count(1)
    expect(chosen).to_have_text("Can view users (users.view)")


def test_without_javascript_the_native_select_still_saves(
    browser: Browser, live_server: str
) -> None:
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "root")
        page.goto("/admin/group/create")
        page.fill("input[name=name]", "Readers")
        select = page.locator("select[name=permissions]")
        expect(select).to_be_visible()
        select.select_option(label="Can view posts (posts.view)")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(re.compile(r"/admin/group/list"))
        page.goto("/admin/group/details/1")
        expect(page.locator("body")).to_contain_text("Can view posts")
    finally:
        context.close()
