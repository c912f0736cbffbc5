"""In lists and details a related row is shown by its label, linked to its details page when
the caller may view its resource, plain otherwise (SQLAdmin linked every one, to a page the
caller may not open, or to no page at all)."""

import re

from backoffice import BackOffice
from backoffice.services import Caller
from tests.admin import rules_models
from tests.admin.conftest import AdminBrowser
from tests.admin.rules_models import Library, scene, signed_in_as
from tests.conftest import Account, grant, make_user

library = rules_models.library  # the fixture


def cell_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of the links to a details page inside the page's table cells."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    found = []
    for cell in cells:
        found += re.findall(r'<a href="([^"]*/details/[^"]*)">([^<]*)</a>', cell)
    return [(href, text.strip()) for href, text in found]


async def test_a_related_row_is_linked_only_for_who_may_view_it(library: Library) -> None:
    office, client = library
    loans = await scene(office)
    async with office.session() as session:
        renewal = await office.service("renewals", session, Caller.operator("system")).create(
            {"loan_id": loans.mine, "weeks": 2}
        )
    desk = await make_user(office, "desk", is_staff=True)
    await grant(office, desk, ["renewals.view", "loans.view"])
    loan_link = (f"http://testserver/admin/loan/details/{loans.mine}", "Mine open")
    root = await signed_in_as(client, "root")
    listing = await root.client.get("/admin/renewal/list")
    assert loan_link in cell_links(listing.text)
    details = await root.client.get(f"/admin/renewal/details/{renewal.id}")
    assert loan_link in cell_links(details.text)
    members = await root.client.get("/admin/loan/list")
    user_links = [text for href, text in cell_links(members.text) if "/user/details/" in href]
    assert "clerk" in user_links

    # No loans.view: the label, without a link to a page that would refuse them.
    bare = await make_user(office, "bare", is_staff=True)
    await grant(office, bare, ["renewals.view"])
    browser = await signed_in_as(client, "bare")
    listing = await browser.client.get("/admin/renewal/list")
    assert listing.status_code == 200
    assert "/admin/loan/details/" not in listing.text
    assert "Mine open" in listing.text
    details = await browser.client.get(f"/admin/renewal/details/{renewal.id}")
    assert "/admin/loan/details/" not in details.text and "Mine open" in details.text


async def test_a_label_is_escaped_in_its_link(library: Library) -> None:
    office, client = library
    await scene(office)
    async with office.session() as session:
        loan = await office.service("loans", session, Caller.operator("system")).create(
            {"title": "<b>bold</b>", "member_id": 1}
        )
        await office.service("renewals", session, Caller.operator("system")).create(
            {"loan_id": loan.id, "weeks": 1}
        )
    root = await signed_in_as(client, "root")
    listing = await root.client.get("/admin/renewal/list")
    assert "&lt;b&gt;bold&lt;/b&gt;" in listing.text and "<b>bold</b>" not in listing.text


async def test_a_users_permissions_and_groups_are_not_links_to_pages_that_do_not_exist(
    signed_in: AdminBrowser, office: BackOffice, staff: Account
) -> None:
    """Permissions have no admin pages: the user's details name them without a dead link."""
    details = await signed_in.client.get(f"/admin/user/details/{staff.id}")
    assert details.status_code == 200
    assert "users.view" in details.text or "Can view users" in details.text
    assert "/admin/permission/details/" not in details.text
    for href in re.findall(r'href="([^"]+/details/[^"]+)"', details.text):
        assert (await signed_in.client.get(href)).status_code == 200, href
