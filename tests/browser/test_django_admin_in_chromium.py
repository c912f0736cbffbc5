"""The Django-grade admin in a real browser: filters, bulk actions, Set password, History,
export, and permissions that hide what a staff user may not do."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_in_chromium import sign_in

pytestmark = pytest.mark.browser
NEW_PASSWORD = "N3w-Secret-Pass"


def test_a_superuser_manages_a_user_from_creation_to_history_and_export(page: Page) -> None:
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("body")).to_contain_text("Users")  # the dashboard's counts

    # Create.
    page.goto("/admin/user/create")
    page.fill("input[name=email]", "dora@example.com")
    page.fill("input[name=username]", "dora")
    page.fill("input[name=password]", "Expl0rer-Pass")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))

    # Find it with search and a filter.
    page.goto("/admin/user/list?search=dora&is_active=true")
    table = page.locator("table")
    expect(table).to_contain_text("dora@example.com")
    expect(table).not_to_contain_text("plain@example.com")

    # Edit.
    page.locator("a[href*='/admin/user/edit/']").first.click()
    page.fill("input[name=full_name]", "Dora the Editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))

    # A bulk action: select the row, choose the action, confirm on the next page.
    page.goto("/admin/user/list?search=dora")
    page.locator("tbody input[type=checkbox]").first.check()
    page.locator("#dropdownMenuButton1, button:has-text('Actions')").first.click()
    page.get_by_text("Deactivate selected").click()
    expect(page.locator("body")).to_contain_text("dora")
    page.get_by_role("button", name=re.compile("confirm|yes|deactivate", re.I)).first.click()
    expect(page.locator("body")).to_contain_text("Deactivated")
    page.goto("/admin/user/list?search=dora&is_active=false")
    expect(page.locator("table")).to_contain_text("dora@example.com")

    # Set password, from the user's details page.
    page.locator("a[href*='/admin/user/details/']").first.click()
    page.get_by_role("link", name="Set password").click()
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("change password|set password|save", re.I)).click()
    expect(page).to_have_url(re.compile(r"/admin/user/details/"))

    # History: every change so far, with its door and fields.
    page.get_by_role("link", name="History").click()
    history = page.locator("body")
    expect(history).to_contain_text("Full name")
    expect(history).to_contain_text("Dora the Editor")
    expect(history).to_contain_text("Active: yes → no")
    expect(history).to_contain_text("admin")
    expect(history).not_to_contain_text("$argon2")

    # Export the filtered list as CSV.
    page.goto("/admin/user/list?search=dora")
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    path = download_info.value.path()
    text = path.read_text(encoding="utf-8")
    assert "dora@example.com" in text
    assert "plain@example.com" not in text
    assert "argon2" not in text and "hashed_password" not in text

    page.get_by_role("button", name="Logout").click()
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_a_staff_user_who_may_only_view_users_sees_no_edit_button_and_gets_403(
    page: Page,
) -> None:
    sign_in(page, "viewer")
    page.goto("/admin/user/list")
    expect(page.locator("table")).to_contain_text("plain@example.com")
    expect(page.locator("a[href*='/admin/user/edit/']")).to_have_count(0)
    expect(page.locator("a[href*='/admin/user/create']")).to_have_count(0)
    # Nothing else is in the menu: no posts, groups or audit log.
    expect(page.locator("a[href*='/admin/post/list']")).to_have_count(0)
    expect(page.locator("a[href*='/admin/audit-entry/list']")).to_have_count(0)

    page.locator("a[href*='/admin/user/details/']").first.click()
    expect(page.get_by_role("link", name="Set password")).to_have_count(0)
    pk = page.url.rstrip("/").rsplit("/", 1)[-1]
    response = page.goto(f"/admin/user/edit/{pk}")
    assert response is not None and response.status == 403
    response = page.goto("/admin/post/list")
    assert response is not None and response.status == 403
