"""Passkeys in a real browser: Chromium's own virtual authenticator (the DevTools WebAuthn
domain) registers one on the Security page, then signs in to the admin with it, without a
password and as the second factor after one. Nothing of the WebAuthn library is mocked.

WebAuthn needs a secure context and a domain as relying-party id: the server's BASE_URL is
``http://localhost:PORT`` (an IP address would not do)."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backoffice import BackOffice
from tests.browser.conftest import _prepare, _run_in_own_thread, live_settings
from tests.browser.test_admin_in_chromium import sign_in
from tests.factors.helpers import code
from tests.servers import ServerThread

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("BACKOFFICE_TEST_SCREENSHOTS")
"""A folder to save the Security page's screenshots in (to look at them), if set."""


@pytest.fixture
def localhost_server(tmp_path: Path) -> Iterator[str]:
    port, settings = live_settings(tmp_path, "passkeys")
    settings = settings.model_copy(update={"base_url": f"http://localhost:{port}"})
    _run_in_own_thread(_prepare(settings))
    server = ServerThread(BackOffice(settings).create_app(), port=port, timeout=20)
    server.start()
    yield settings.base_url
    server.stop()


@pytest.fixture
def authenticated_page(browser: Browser, localhost_server: str) -> Iterator[Page]:
    """A page with a virtual platform authenticator (user verification always succeeds)."""
    context = browser.new_context(base_url=localhost_server)
    context.set_default_timeout(15_000)
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def sign_out(page: Page) -> None:
    page.locator("#logout-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_a_passkey_is_registered_and_signs_in_to_the_admin(authenticated_page: Page) -> None:
    page = authenticated_page
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.locator("#security-link").click()
    expect(page).to_have_url(re.compile(r"/admin/security$"))
    page.fill("#passkey-name", "Work laptop")
    page.locator("#passkey-add-button").click()
    expect(page.locator("#passkey-list")).to_contain_text("Work laptop")
    if SCREENSHOTS:
        for width in (1366, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SCREENSHOTS}/security-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 900})

    # Passwordless: the passkey alone.
    sign_out(page)
    page.locator("#passkey-sign-in-button").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#signed-in-as")).to_have_text("root")

    # As the second factor: the password now asks for it, and the passkey answers.
    sign_out(page)
    sign_in(page, "root")
    expect(page).to_have_url(re.compile(r"/admin/login/second-factor"))
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/second-factor-1366.png")
    page.locator("#second-factor-passkey").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # Sessions: the Security page lists them, this one marked.
    page.goto("/admin/security")
    expect(page.locator("#session-list [data-current]")).to_have_count(1)


def test_an_authenticator_app_is_set_up_from_its_qr_page(authenticated_page: Page) -> None:
    page = authenticated_page
    sign_in(page, "root")
    page.goto("/admin/security")
    page.locator("#totp-start").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    if SCREENSHOTS:
        for width in (1366, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SCREENSHOTS}/security-totp-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 900})
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#totp-code", code(secret, -1))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-recovery-code]")).to_have_count(10)
    expect(page.locator("#totp-on")).to_be_visible()
