"""Driving the admin like a browser does: fetch a form, echo its CSRF token, post it."""

import re
from dataclasses import dataclass

import httpx2
import pytest

from tests.conftest import DEFAULT_PASSWORD, Account

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_ERROR = re.compile(r'class="alert alert-danger"[^>]*>\s*([^<]*?)\s*<')
_PROBLEMS = re.compile(
    r'id="form-problems">(.*?)</div>\s*</div>|class="invalid-feedback">([^<]*)<', re.S
)
_TAGS = re.compile(r"<[^>]+>")


def csrf_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def form_error(html: str) -> str | None:
    """Every problem a refused form shows: the banner's lines and each field's own message."""
    found = []
    for banner, beside in _PROBLEMS.findall(html):
        text = _TAGS.sub("\n", banner or beside)
        found += [line.strip() for line in text.splitlines() if line.strip()]
    if found:
        return "; ".join(line for line in found if line != "Please correct the errors below.")
    match = _ERROR.search(html)
    return match.group(1) if match else None


@dataclass
class AdminBrowser:
    client: httpx2.AsyncClient

    async def login(self, login: str, password: str = DEFAULT_PASSWORD) -> httpx2.Response:
        page = await self.client.get("/admin/login")
        data = {"username": login, "password": password, "csrf_token": csrf_token(page.text)}
        return await self.client.post("/admin/login", data=data)

    async def token(self, path: str = "/admin/user/list") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_token(page.text)

    async def submit(self, path: str, data: dict[str, str]) -> httpx2.Response:
        """GET the form at ``path`` then POST ``data`` to it with the form's token."""
        token = await self.token(path)
        return await self.client.post(path, data={**data, "csrf_token": token, "save": "Save"})

    async def delete(self, identity: str, pk: int) -> httpx2.Response:
        token = await self.token(f"/admin/{identity}/list")
        return await self.client.delete(
            f"/admin/{identity}/delete", params={"pks": str(pk)}, headers={"X-CSRF-Token": token}
        )


@pytest.fixture
def browser(client: httpx2.AsyncClient) -> AdminBrowser:
    return AdminBrowser(client)


@pytest.fixture
async def signed_in(browser: AdminBrowser, superuser: Account) -> AdminBrowser:
    response = await browser.login("root")
    assert response.status_code == 302, response.text
    return browser


# A real local SMTP server (aiosmtpd), for the password reset pages.
from tests.smtp import mail_server  # noqa: E402, F401
