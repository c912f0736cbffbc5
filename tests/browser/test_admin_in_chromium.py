"""A person's path through the admin, in a real browser against a real server."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page: Page, login: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/admin/login")
    page.fill("input[name=username]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_staff_user_creates_finds_edits_and_deletes_a_user_then_logs_out(page: Page) -> None:
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto("/admin/user/create")
    page.fill("input[name=email]", "dora@example.com")
    page.fill("input[name=username]", "dora")
    page.fill("input[name=full_name]", "Dora Explorer")
    page.fill("input[name=password]", "Expl0rer-Pass")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))

    page.goto("/admin/user/list?search=dora")
    expect(page.locator("table")).to_contain_text("dora@example.com")
    expect(page.locator("table")).not_to_contain_text("plain@example.com")

    page.goto("/admin/user/list?search=dora")
    page.locator("a[href*='/admin/user/edit/']").first.click()
    page.fill("input[name=full_name]", "Dora the Editor")
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto("/admin/user/list?search=dora")
    page.locator("a[href*='/admin/user/details/']").first.click()
    expect(page.locator("body")).to_contain_text("Dora the Editor")
    expect(page.locator("body")).not_to_contain_text("$argon2")

    # Delete goes through SQLAdmin's JavaScript DELETE, which must carry the CSRF header.
    page.locator("a[data-bs-target='#modal-delete']").first.click()
    page.locator("#modal-delete-button").click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))
    page.goto("/admin/user/list?search=dora")
    expect(page.locator("body")).not_to_contain_text("dora@example.com")

    page.get_by_role("button", name="Logout").click()
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.goto("/admin/user/list")
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_form_error_is_shown_on_the_form(page: Page) -> None:
    sign_in(page, "root")
    page.goto("/admin/user/create")
    page.fill("input[name=email]", "weak@example.com")
    page.fill("input[name=username]", "weak")
    page.fill("input[name=password]", "weakpassword")
    page.get_by_role("button", name="Save", exact=True).click()
    beside = page.locator("input[name=password] ~ .invalid-feedback")
    expect(beside.filter(has_text="upper-case")).to_have_count(1)  # one line per problem


def test_user_without_staff_status_cannot_enter(page: Page) -> None:
    sign_in(page, "plain")
    expect(page.locator("body")).to_contain_text("Invalid credentials")
    page.goto("/admin/user/list")
    expect(page).to_have_url(re.compile(r"/admin/login"))
