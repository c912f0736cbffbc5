"""The API docs in Chromium with every request to another origin refused: Swagger UI and ReDoc
render from the app's own files, under its Content-Security-Policy, and Authorize works."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.conftest import DEFAULT_PASSWORD


@pytest.fixture
def offline(browser: Browser, live_server: str) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A context whose requests reach only the app: anything else is aborted and noted."""
    own = urlsplit(live_server).netloc
    refused: list[str] = []
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(15_000)

    def only_the_app(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_app)
    yield context, refused
    context.close()


def console_problems(page: Page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_swagger_ui_renders_offline_and_authorize_then_try_it_out_gives_200(
    offline: tuple[BrowserContext, list[str]],
) -> None:
    context, refused = offline
    page = context.new_page()
    problems = console_problems(page)

    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("backoffice")

    page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".dialog-ux")
    dialog.locator("#oauth_username").fill("root")
    dialog.locator("#oauth_password").fill(DEFAULT_PASSWORD)
    dialog.locator(".auth-btn-wrapper .authorize").click()
    expect(dialog.locator(".auth-btn-wrapper")).to_contain_text("Logout")
    dialog.locator(".btn-done").click()

    operation = page.locator(".opblock-get", has=page.locator("[data-path='/api/users/me']"))
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    live = operation.locator(".live-responses-table .response .response-col_status")
    expect(live).to_have_text("200")
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text(
        '"username": "root"'
    )

    assert refused == []
    assert problems == []


def test_redoc_renders_offline(offline: tuple[BrowserContext, list[str]]) -> None:
    """ReDoc's own badge names an image on its CDN: the policy blocks it, which is the point."""
    context, refused = offline
    page = context.new_page()
    problems = console_problems(page)

    page.goto("/api/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("backoffice")
    expect(page.locator("[role=navigation], .menu-content").first).to_contain_text("users")

    assert refused == []
    assert [p for p in problems if "violates the following Content Security Policy" not in p] == []
