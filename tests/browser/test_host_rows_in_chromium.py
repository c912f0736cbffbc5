"""A host app's rows in a real browser: a loan's member (a relation to ``User``) is shown by
its label, never SQLModel's text of the row with its password hash, and a loan the service
hides from this staff user is missing on every page, as in the API."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings
from backoffice.admin import ResourceAdmin
from tests.admin.rules_models import Loan, Loans, LoanService, Renewal, scene
from tests.browser.conftest import _page, _run_in_own_thread, live_settings
from tests.browser.test_admin_in_chromium import sign_in
from tests.servers import ServerThread

pytestmark = pytest.mark.browser

SECRETS = ("$argon2", "$2b$", "hashed_password")


class LoanAdmin(ResourceAdmin):
    column_list: ClassVar[tuple[str, ...]] = ("id", "title", "member", "returned")
    column_details_list: ClassVar[tuple[str, ...]] = ("id", "title", "member", "returned")


def library_office(settings: Settings) -> BackOffice:
    office = BackOffice(settings)
    office.register(Loan, service=LoanService, admin=LoanAdmin)
    office.register(Renewal)
    return office


@pytest.fixture
def library_server(tmp_path: Path) -> Iterator[tuple[str, Loans]]:
    port, settings = live_settings(tmp_path, "library")
    base_url = settings.base_url
    loans: list[Loans] = []

    async def prepare() -> None:
        office = library_office(settings)
        try:
            async with office.engine.begin() as connection:
                await connection.run_sync(SQLModel.metadata.drop_all)
                await connection.run_sync(SQLModel.metadata.create_all)
            loans.append(await scene(office))
        finally:
            await office.dispose()

    async def clean() -> None:
        office = library_office(settings)
        try:
            async with office.engine.begin() as connection:
                await connection.run_sync(SQLModel.metadata.drop_all)
        finally:
            await office.dispose()

    _run_in_own_thread(prepare())
    server = ServerThread(library_office(settings).create_app(), port=port, timeout=20)
    server.start()
    yield base_url, loans[0]
    server.stop()
    _run_in_own_thread(clean())


@pytest.fixture
def library_page(browser: Browser, library_server: tuple[str, Loans]) -> Iterator[Page]:
    yield from _page(browser, library_server[0])


def no_secret_on(page: Page) -> None:
    html = page.content()
    for secret in SECRETS:
        assert secret not in html, (page.url, secret)
    assert "User(" not in html and "email=" not in html, page.url


def test_a_loans_member_is_a_label_and_a_hidden_loan_is_missing(
    library_page: Page, library_server: tuple[str, Loans]
) -> None:
    page, loans = library_page, library_server[1]
    sign_in(page, "clerk")  # staff: loans.view/change/delete and audit.view, not users.view
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto("/admin/loan/list")
    table = page.locator("table")
    expect(table).to_contain_text("Mine open")
    expect(table).to_contain_text("clerk")  # the member, by its label
    expect(table).not_to_contain_text("Someone else")
    no_secret_on(page)

    page.goto(f"/admin/loan/details/{loans.mine}")
    expect(page.locator("table")).to_contain_text("clerk")
    no_secret_on(page)
    page.goto(f"/admin/loan/edit/{loans.mine}")
    # The member select offers the accounts this staff user may see: their own only.
    options = page.locator("select[name=member] option").all_inner_texts()
    assert [o.strip() for o in options if o.strip()] == ["clerk"], options
    no_secret_on(page)

    for path in (
        f"/admin/loan/details/{loans.others}",
        f"/admin/loan/edit/{loans.others}",
        f"/admin/loan/history/{loans.others}",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.locator("body")).not_to_contain_text("Someone else")

    exported = page.request.get("/admin/loan/export/csv").text()  # the signed-in session's
    assert "Mine open" in exported and "Someone else" not in exported
    assert not any(secret in exported for secret in SECRETS)
