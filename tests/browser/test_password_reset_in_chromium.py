"""Forgot your password? The whole path in a real browser against a real server, with the mail
read from a real local SMTP server."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.smtp import MailServer

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Chr0mium-Reset-Pass"


def test_a_staff_user_resets_a_forgotten_password_from_the_login_page_and_signs_in(
    mailing_page: Page, mailing_live_server: str, mail_server: MailServer
) -> None:
    page = mailing_page
    page.goto("/admin/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/admin/password-reset$"))

    page.fill("input[name=email]", "root@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#reset-requested")).to_be_visible()

    mail = mail_server.wait_for_blocking("root@example.com")
    links = [link for link in mail.links() if "token=" in link]
    assert len(links) == 1
    assert links[0].startswith(f"{mailing_live_server}/admin/password-reset/confirm?token=")

    page.goto(links[0])
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator("#reset-complete")).to_be_visible()

    page.get_by_role("link", name="Back to sign in").click()
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#signed-in-as")).to_have_text("root")
