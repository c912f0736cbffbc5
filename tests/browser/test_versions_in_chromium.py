"""Chromium: a stale save in the admin shows the other person's change instead of writing over
it, and re-applies on request; a bulk action previews each row's change or refusal."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.test_admin_in_chromium import sign_in
from tests.conftest import DEFAULT_PASSWORD

SHOTS = Path(os.environ.get("BACKOFFICE_SHOTS", "")) if os.environ.get("BACKOFFICE_SHOTS") else None
pytestmark = pytest.mark.browser


def shoot(page: Page, name: str) -> None:
    """Screenshots at desktop and phone widths when BACKOFFICE_SHOTS names a folder."""
    if SHOTS is None:
        return
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def someone_else_renames_plain(page: Page) -> None:
    """Bob, through the API, while the form is open."""
    token = page.request.post(
        "/api/auth/login", form={"username": "root", "password": DEFAULT_PASSWORD}
    ).json()["access_token"]
    changed = page.request.patch(
        "/api/users/2",
        data={"full_name": "Plain Jane", "username": "plainjane"},
        headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
    )
    assert changed.status == 200, changed.text()


def test_a_stale_save_shows_their_values_and_reapplies(page: Page) -> None:
    sign_in(page, "root")
    page.goto("/admin/user/edit/2")
    assert page.input_value("input[name=record_version]") == "1"
    someone_else_renames_plain(page)

    page.fill("input[name=email]", "jane@example.com")
    page.click("input[type=submit][value='Save']")
    panel = page.locator("#stale-save")
    panel.wait_for()
    assert "version 1" in panel.inner_text() and "version 2" in panel.inner_text()
    assert "Plain Jane" in panel.inner_text() and "plainjane" in panel.inner_text()
    assert "root" in page.locator(".stale-who").first.inner_text()
    # Fields left alone now hold their values; the one typed is kept.
    assert page.input_value("input[name=full_name]") == "Plain Jane"
    assert page.input_value("input[name=username]") == "plainjane"
    assert page.input_value("input[name=email]") == "jane@example.com"
    assert page.input_value("input[name=record_version]") == "2"
    shoot(page, "stale-save")

    page.click("#reapply")
    page.wait_for_url("**/admin/user/edit/2**")
    page.goto("/admin/user/details/2")
    details = page.inner_text("body")
    assert "jane@example.com" in details and "Plain Jane" in details


def test_a_bulk_preview_lists_each_rows_change_and_refusal(page: Page) -> None:
    sign_in(page, "root")
    page.goto("/admin/user/bulk/deactivate_selected?pks=1,2,3")
    table = page.locator("#bulk-preview")
    table.wait_for()
    assert page.locator("tr[data-pk='1']").get_attribute("data-preview") == "refused"
    assert page.locator("tr[data-pk='2']").get_attribute("data-preview") == "changed"
    assert "is active" in page.locator("tr[data-pk='2'] .bulk-preview").inner_text()
    shoot(page, "bulk-preview")
    page.click("#bulk-confirm")
    page.locator("#bulk-report").wait_for()
    assert page.locator("tr[data-pk='2']").get_attribute("data-outcome") == "done"
    assert page.locator("tr[data-pk='1']").get_attribute("data-outcome") == "refused"
