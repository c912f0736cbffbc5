"""The finished admin in Chromium: what a staff user is told after a change or a refusal, and
error pages that keep the menu and a way back."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_in_chromium import sign_in

pytestmark = pytest.mark.browser


def test_a_change_is_confirmed_by_a_success_message(page: Page) -> None:
    sign_in(page, "root")
    page.goto("/admin/user/create")
    page.fill("input[name=email]", "dora@example.com")
    page.fill("input[name=username]", "dora")
    page.fill("input[name=password]", "Expl0rer-Pass")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/admin/user/list"))
    expect(page.locator("#messages .alert-success")).to_contain_text("User “dora")
    expect(page.locator("#messages .alert-success")).to_contain_text("was added.")

    page.locator("a[href*='/admin/user/edit/']").last.click()
    page.fill("input[name=full_name]", "Dora Explorer")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages .alert-success")).to_contain_text("was changed.")
    page.reload()
    expect(page.locator("#messages")).to_have_count(0)  # said once


def test_a_refused_field_is_marked_beside_it_one_line_each(page: Page) -> None:
    sign_in(page, "root")
    page.goto("/admin/user/create")
    page.fill("input[name=email]", "not-an-email")
    page.fill("input[name=username]", "weak")
    page.fill("input[name=password]", "weakpassword")
    page.get_by_role("button", name="Save", exact=True).click()

    email = page.locator("input[name=email]")
    expect(email).to_have_class(re.compile(r"\bis-invalid\b"))
    beside_email = email.locator("xpath=following-sibling::div[@class='invalid-feedback']")
    expect(beside_email).to_have_count(1)
    expect(beside_email).to_contain_text("valid email address")
    expect(beside_email).to_be_visible()
    expect(page.locator("#form-problems")).to_contain_text("Please correct the errors below.")
    # What was typed is kept, the password excepted.
    expect(email).to_have_value("not-an-email")


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("viewer", "/admin/user/create", 403),
        ("root", "/admin/user/details/9999", 404),
        ("root", "/admin/no-such-page", 404),
    ],
)
def test_error_pages_are_inside_the_layout_with_the_menu_and_a_way_back(
    page: Page, who: str, path: str, status: int
) -> None:
    sign_in(page, who)
    page.goto("/admin/user/list")
    # As if followed from the list (a link there, or one pasted into it).
    response = page.goto(path, referer=page.url)

    assert response is not None and response.status == status
    expect(page.locator("#admin-error")).to_have_attribute("data-status", str(status))
    expect(page.locator("#navbar-menu")).to_contain_text("Users")
    expect(page.locator("#signed-in-as")).to_have_text(who)
    expect(page.locator("#error-back")).to_have_attribute("href", re.compile(r"/admin/user/list"))
    page.locator("#error-home").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_a_refused_sign_in_shows_one_message_and_keeps_the_username(page: Page) -> None:
    page.goto("/admin/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")

    expect(page.locator(".alert-danger, .invalid-feedback")).to_have_count(1)
    expect(page.locator("input[name=username]")).to_have_value("root")
    page.set_viewport_size({"width": 390, "height": 844})
    card = page.locator("#login-form").bounding_box()
    assert card is not None and card["x"] >= 0 and card["x"] + card["width"] <= 390
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the page scrolls sideways on a phone"
