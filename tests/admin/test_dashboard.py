"""The admin's front page: counts and the latest changes, each only for who may view them."""

import re

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.admin.views import ServiceModelView
from backoffice.models import UserUpdate
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account, bearer, grant, make_user

_COUNT = re.compile(r'data-count="([^"]+)".*?class="h1 mb-0">(\d+)<', re.S)


def counts(html: str) -> dict[str, int]:
    return {label: int(value) for label, value in _COUNT.findall(html)}


async def test_dashboard_shows_the_counts_to_a_superuser(
    signed_in: AdminBrowser,
    client: httpx2.AsyncClient,
    office: BackOffice,
    alice: Account,
    bob: Account,
) -> None:
    async with office.session() as session:
        await office.users(session, Caller.operator()).update(bob.id, UserUpdate(is_active=False))
    headers = await bearer(client, "alice")
    for title in ("One", "Two"):
        created = await client.post("/api/posts/", json={"title": title}, headers=headers)
        assert created.status_code == 201, created.text

    page = await signed_in.client.get("/admin/")
    assert page.status_code == 200
    assert counts(page.text) == {"Users": 3, "Active users": 2, "Posts": 2, "Groups": 0}


async def test_dashboard_lists_the_latest_changes_and_links_to_the_audit_log(
    signed_in: AdminBrowser, client: httpx2.AsyncClient, alice: Account
) -> None:
    headers = await bearer(client, "alice")
    for number in range(12):
        await client.post("/api/posts/", json={"title": f"Post {number}"}, headers=headers)

    page = await signed_in.client.get("/admin/")
    latest = page.text[page.text.index('id="latest-changes"') :]
    assert 'href="http://testserver/admin/audit-entry/list"' in latest
    assert latest.count("/admin/audit-entry/details/") == 10
    assert "Post 11" in latest and "Post 1<" not in latest  # newest first, ten of them


async def test_dashboard_shows_nothing_to_whom_may_view_nothing(
    browser: AdminBrowser, staff: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await browser.login("staffer")).status_code == 302
    monkeypatch.setattr(ServiceModelView, "allows", lambda self, request, action: False)

    page = await browser.client.get("/admin/")
    assert page.status_code == 200
    assert counts(page.text) == {}
    assert 'id="latest-changes"' not in page.text
    assert 'id="dashboard-empty"' in page.text


async def test_anonymous_visitor_is_sent_to_login_from_the_dashboard(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["location"]


async def test_without_a_logo_the_header_shows_the_project_name(signed_in: AdminBrowser) -> None:
    page = await signed_in.client.get("/admin/")
    assert "<h3>backoffice</h3>" in page.text
    assert "navbar-brand-logo" not in page.text


async def test_a_hosts_resources_are_counted_for_whoever_may_view_them(
    host_app: FastAPI,
) -> None:
    """A staff user with invoice rights only sees the invoices' count, not "nothing is open"."""
    office: BackOffice = host_app.state.backoffice
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["invoices.view"])
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as host:
        browser = AdminBrowser(host)
        assert (await browser.login("clerk")).status_code == 302
        page = await host.get("/admin/")
    assert counts(page.text) == {"Invoices": 0}
    assert 'id="dashboard-empty"' not in page.text
