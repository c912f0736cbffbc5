"""Bulk actions: a confirmation page (GET, changes nothing), then a POST with the CSRF token that
does each row through the service in its own unit of work and reports every row."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from fastapi import FastAPI
from starlette.requests import Request

from backoffice import BackOffice
from backoffice.admin.users import UserAdmin
from backoffice.models import User, UserUpdate
from backoffice.services import Caller
from backoffice.services.users import LAST_SUPERUSER
from examples.invoicing.models import Invoice
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account, bearer, grant, in_trash, make_user

_ROW = re.compile(
    r'<tr class="bulk-row" data-pk="(\d+)" data-outcome="(\w+)">.*?'
    r'<td class="bulk-message[^"]*">\s*(.*?)\s*</td>',
    re.S,
)


def report(html: str) -> dict[int, tuple[str, str]]:
    """pk → (outcome, message) from the report page."""
    return {
        int(pk): (outcome, " ".join(re.sub(r"<[^>]+>", "", message).split()))
        for pk, outcome, message in _ROW.findall(html)
    }


def unescape(text: str) -> str:
    return text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")


async def confirm(
    browser: AdminBrowser, url: str, pks: list[int]
) -> tuple[httpx2.Response, httpx2.Response]:
    """Open the confirmation page for ``pks``, then submit its form."""
    page = await browser.client.get(url, params={"pks": ",".join(map(str, pks))})
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    pks_field = re.search(r'name="pks" value="([^"]*)"', page.text)
    assert token and pks_field
    result = await browser.client.post(
        url, data={"csrf_token": token.group(1), "pks": pks_field.group(1)}
    )
    return page, result


async def user_state(office: BackOffice, pk: int) -> User | None:
    async with office.session() as session:
        return await session.get(User, pk)


async def test_the_list_offers_the_bulk_actions_instead_of_a_get_action(
    signed_in: AdminBrowser, alice: Account
) -> None:
    page = await signed_in.client.get("/admin/user/list")
    for name, label in (
        ("activate_selected", "Activate selected"),
        ("deactivate_selected", "Deactivate selected"),
        ("delete_selected", "Delete selected"),
    ):
        assert f'id="action-custom-bulk-{name}"' in page.text
        assert f'data-url="http://testserver/admin/user/bulk/{name}"' in page.text
        assert label in page.text
    # SQLAdmin's own "delete selected" is replaced; its dialog stays for the per-row buttons.
    assert 'id="action-delete"' not in page.text
    assert 'id="modal-delete"' in page.text
    details = await signed_in.client.get(f"/admin/user/details/{alice.id}")
    assert 'id="modal-delete"' in details.text  # the details page's delete button needs it


async def test_bulk_deactivate_reports_each_row_and_keeps_the_last_superuser(
    signed_in: AdminBrowser, office: BackOffice, superuser: Account, alice: Account
) -> None:
    url = "/admin/user/bulk/deactivate_selected"
    page, result = await confirm(signed_in, url, [superuser.id, alice.id])
    assert "root &lt;root@example.com&gt;" in page.text
    assert "alice &lt;alice@example.com&gt;" in page.text
    assert 'method="POST"' in page.text
    assert result.status_code == 200, result.text
    rows = report(result.text)
    assert rows[alice.id] == ("done", "Deactivated")
    outcome, message = rows[superuser.id]
    assert outcome == "refused"
    assert LAST_SUPERUSER in unescape(message)
    assert "Deactivated: 1 of 2." in result.text
    root, alice_now = await user_state(office, superuser.id), await user_state(office, alice.id)
    assert root is not None and root.is_active
    assert alice_now is not None and not alice_now.is_active


async def test_bulk_activate_changes_the_rows(
    signed_in: AdminBrowser, office: BackOffice, alice: Account, bob: Account
) -> None:
    async with office.session() as session:
        users = office.users(session, Caller.operator("system"))
        for account in (alice, bob):
            await users.update(account.id, UserUpdate(is_active=False))
    _, result = await confirm(signed_in, "/admin/user/bulk/activate_selected", [alice.id, bob.id])
    assert report(result.text) == {
        alice.id: ("done", "Activated"),
        bob.id: ("done", "Activated"),
    }
    for account in (alice, bob):
        user = await user_state(office, account.id)
        assert user is not None and user.is_active


async def test_bulk_delete_deletes_and_reports_a_missing_row(
    signed_in: AdminBrowser, office: BackOffice, alice: Account, bob: Account
) -> None:
    url = "/admin/user/bulk/delete_selected"
    page, result = await confirm(signed_in, url, [alice.id, bob.id, 999])
    assert 'id="bulk-missing"' in page.text and "999" in page.text
    rows = report(result.text)
    assert rows[alice.id] == ("done", "Deleted") and rows[bob.id] == ("done", "Deleted")
    assert rows[999][0] == "refused" and "does not exist" in rows[999][1]
    assert await in_trash(office, User, alice.id) and await in_trash(office, User, bob.id)


async def test_the_confirmation_page_changes_nothing(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    for name in ("deactivate_selected", "delete_selected"):
        page = await signed_in.client.get(f"/admin/user/bulk/{name}", params={"pks": str(alice.id)})
        assert page.status_code == 200
        assert 'id="bulk-form"' in page.text and 'id="bulk-report"' not in page.text
    user = await user_state(office, alice.id)
    assert user is not None and user.is_active


async def test_the_post_without_csrf_token_is_refused_and_changes_nothing(
    signed_in: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    for name in ("deactivate_selected", "delete_selected"):
        response = await signed_in.client.post(
            f"/admin/user/bulk/{name}", data={"pks": str(alice.id)}
        )
        assert response.status_code == 403
    user = await user_state(office, alice.id)
    assert user is not None and user.is_active


async def test_bad_or_empty_selections_and_unknown_actions(signed_in: AdminBrowser) -> None:
    base = "/admin/user/bulk"
    empty = await signed_in.client.get(f"{base}/delete_selected", params={"pks": ""})
    assert empty.status_code == 400 and 'id="bulk-error"' in empty.text
    bad = await signed_in.client.get(f"{base}/delete_selected", params={"pks": "1,x"})
    assert bad.status_code == 400
    huge = await signed_in.client.get(f"{base}/delete_selected", params={"pks": str(2**70)})
    assert huge.status_code == 400
    assert (await signed_in.client.get(f"{base}/scaffold_form?pks=1")).status_code == 404
    assert (await signed_in.client.get(f"{base}/bulk?pks=1")).status_code == 404


async def test_bulk_pages_need_a_signed_in_user(client: httpx2.AsyncClient) -> None:
    response = await client.get("/admin/user/bulk/delete_selected", params={"pks": "1"})
    assert response.status_code == 302
    assert "/admin/login" in response.headers["location"]


class NoChangeUserAdmin(UserAdmin):
    def allows(self, request: Request, action: str) -> bool:
        return action != "change" and super().allows(request, action)


@asynccontextmanager
async def browser_on(office: BackOffice) -> AsyncIterator[AdminBrowser]:
    transport = httpx2.ASGITransport(app=office.create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield AdminBrowser(client)


async def test_an_action_the_user_may_not_do_is_not_offered_and_its_post_is_refused(
    office: BackOffice, superuser: Account, alice: Account
) -> None:
    office.registry.get("users").admin_class = NoChangeUserAdmin
    async with browser_on(office) as browser:
        assert (await browser.login("root")).status_code == 302
        page = await browser.client.get("/admin/user/list")
        assert "bulk-deactivate_selected" not in page.text
        assert "bulk-activate_selected" not in page.text
        assert "bulk-delete_selected" in page.text
        url = "/admin/user/bulk/deactivate_selected"
        assert (await browser.client.get(url, params={"pks": str(alice.id)})).status_code == 403
        token = await browser.token()
        response = await browser.client.post(url, data={"pks": str(alice.id), "csrf_token": token})
        assert response.status_code == 403
    user = await user_state(office, alice.id)
    assert user is not None and user.is_active


async def test_staff_get_only_the_actions_their_permissions_allow(
    browser: AdminBrowser, office: BackOffice, alice: Account
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["users.view"])
    assert (await browser.login("clerk")).status_code == 302
    page = await browser.client.get("/admin/user/list")
    assert page.status_code == 200
    assert "bulk-deactivate_selected" not in page.text
    assert "bulk-delete_selected" not in page.text
    token = await browser.token()
    for name in ("deactivate_selected", "delete_selected"):
        response = await browser.client.post(
            f"/admin/user/bulk/{name}", data={"pks": str(alice.id), "csrf_token": token}
        )
        assert response.status_code == 403, name
    user = await user_state(office, alice.id)
    assert user is not None and user.is_active


async def test_a_row_the_service_refuses_to_staff_is_reported_the_others_done(
    browser: AdminBrowser, office: BackOffice, superuser: Account, alice: Account
) -> None:
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["users.view", "users.change"])
    assert (await browser.login("clerk")).status_code == 302
    url = "/admin/user/bulk/deactivate_selected"
    _, result = await confirm(browser, url, [superuser.id, alice.id])
    rows = report(result.text)
    assert rows[alice.id] == ("done", "Deactivated")
    assert rows[superuser.id][0] == "refused"
    assert "Only a superuser" in rows[superuser.id][1]
    root = await user_state(office, superuser.id)
    assert root is not None and root.is_active


# -- a generated resource view (the invoicing example) gets "Delete selected" too -------------


async def test_generated_views_delete_selected_row_by_row(host_app: FastAPI) -> None:
    office: BackOffice = host_app.state.backoffice
    await make_user(office, "boss", is_staff=True, is_superuser=True)
    transport = httpx2.ASGITransport(app=host_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        browser = AdminBrowser(client)
        assert (await browser.login("boss")).status_code == 302
        headers = await bearer(client, "boss")
        customer = await client.post("/api/customers/", json={"name": "ACME"}, headers=headers)
        ids = []
        for number, status in (("INV-1", "draft"), ("INV-2", "paid"), ("INV-3", "sent")):
            body = {
                "number": number,
                "customer_id": customer.json()["id"],
                "amount_cents": 100,
                "status": status,
            }
            created = await client.post("/api/invoices/", json=body, headers=headers)
            ids.append(created.json()["id"])

        page = await client.get("/admin/invoice/list")
        assert 'id="action-custom-bulk-delete_selected"' in page.text

        exported = await client.get(
            "/admin/invoice/export/json", params={"status": "paid", "status_op": "equals"}
        )
        assert [(i["number"], i["customer_id"]) for i in exported.json()] == [
            ("INV-2", customer.json()["id"])
        ]

        confirm_page, result = await confirm(browser, "/admin/invoice/bulk/delete_selected", ids)
        assert "INV-1" in confirm_page.text and "INV-2" in confirm_page.text
        rows = report(result.text)
        assert rows[ids[0]] == ("done", "Deleted") and rows[ids[2]] == ("done", "Deleted")
        assert rows[ids[1]] == ("refused", "Refused: A paid invoice cannot be deleted.")
    async with office.session() as session:
        assert await session.get(Invoice, ids[0]) is None
        assert await session.get(Invoice, ids[1]) is not None
        assert await session.get(Invoice, ids[2]) is None
