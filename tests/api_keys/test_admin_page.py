"""The admin's API keys page: one's own keys, a superuser's view of all, a key shown once,
revoking one or many; the same rules as the API because the same service decides."""

import re
from datetime import UTC, datetime, timedelta

import httpx2

from backoffice import BackOffice
from tests.admin.conftest import AdminBrowser, form_error
from tests.api_keys.conftest import key_header, operator_key
from tests.conftest import Account, grant, make_user

PAGE = "/admin/api-keys"
_KEY = re.compile(r'id="new-key-value"[^>]*value="(bok_[^"]+)"')


def in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


async def signed_in(client: httpx2.AsyncClient, login: str) -> AdminBrowser:
    browser = AdminBrowser(client)
    assert (await browser.login(login)).status_code == 302
    return browser


async def clerk(office: BackOffice, name: str, permissions: list[str]) -> Account:
    account = await make_user(office, name, is_staff=True)
    await grant(office, account, permissions)
    return account


async def test_a_key_made_in_the_admin_is_shown_once_and_works(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await clerk(office, "clerk", ["invoices.view", "customers.view"])
    browser = await signed_in(client, "clerk")
    page = await client.get(PAGE)
    assert page.status_code == 200 and 'value="invoices.view"' in page.text
    assert 'name="owner"' not in page.text  # only a superuser names another owner
    form = {"name": "nightly", "expires_on": in_days(30), "scopes": ["invoices.view"]}
    made = await client.post(PAGE, data={**form, "csrf_token": await browser.token(PAGE)})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    match = _KEY.search(made.text)
    assert match, made.text
    key = match.group(1)
    assert (await client.get("/api/invoices/", headers=key_header(key))).status_code == 200
    again = await client.get(PAGE)
    assert key not in again.text and key[:12] in again.text and "nightly" in again.text
    assert "127.0.0.1" in again.text  # last used from


async def test_the_admin_form_says_what_is_wrong(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await clerk(office, "clerk", ["invoices.view"])
    browser = await signed_in(client, "clerk")
    cases = [
        ({"name": "x", "expires_on": in_days(30)}, "scopes"),
        ({"name": "x", "expires_on": in_days(30), "scopes": "invoices.change"}, "not hold"),
        ({"name": "x", "expires_on": in_days(400), "scopes": "invoices.view"}, "at most 365"),
        ({"name": "x", "expires_on": "soon", "scopes": "invoices.view"}, "expires"),
        ({"name": "", "expires_on": in_days(3), "scopes": "invoices.view"}, "name"),
    ]
    for form, words in cases:
        response = await client.post(PAGE, data={**form, "csrf_token": await browser.token(PAGE)})
        assert response.status_code == 400, response.text
        error = form_error(response.text)
        assert error and words in error, error
        assert "bok_" not in response.text.replace('placeholder="', "")


async def test_staff_see_their_own_keys_a_superuser_all_and_revokes_many(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    ann = await clerk(office, "ann", ["invoices.view"])
    ben = await clerk(office, "ben", ["invoices.view"])
    ann_key = await operator_key(office, ann, ["invoices.view"])
    ben_key = await operator_key(office, ben, ["invoices.view"])

    browser = await signed_in(client, "ann")
    own = await client.get(PAGE)
    assert ann_key[:12] in own.text and ben_key[:12] not in own.text
    # ann cannot revoke ben's key, even naming it
    ben_id = await _key_id(office, ben.id)
    token = await browser.token(PAGE)
    await client.post(f"{PAGE}/revoke", data={"ids": str(ben_id), "csrf_token": token})
    assert (await client.get("/api/invoices/", headers=key_header(ben_key))).status_code == 200
    await client.post("/admin/logout", data={"csrf_token": await browser.token(PAGE)})

    root = await signed_in(client, "root")
    every = await client.get(PAGE)
    assert ann_key[:12] in every.text and ben_key[:12] in every.text
    assert ">ann<" in every.text and ">ben<" in every.text  # the owner column
    ids = [str(await _key_id(office, ann.id)), str(ben_id)]
    revoked = await client.post(
        f"{PAGE}/revoke", data={"ids": ids, "csrf_token": await root.token(PAGE)}
    )
    assert revoked.status_code == 302
    for key in (ann_key, ben_key):
        assert (await client.get("/api/invoices/", headers=key_header(key))).status_code == 401
    assert "2 keys revoked" in (await client.get(PAGE)).text


async def test_a_superuser_makes_a_key_for_someone_else(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await make_user(office, "root", is_staff=True, is_superuser=True)
    ann = await clerk(office, "ann", ["invoices.view"])
    root = await signed_in(client, "root")
    form = {"name": "ci", "expires_on": in_days(5), "scopes": "invoices.view", "owner": "ann"}
    made = await client.post(PAGE, data={**form, "csrf_token": await root.token(PAGE)})
    assert made.status_code == 200, form_error(made.text)
    assert await _key_id(office, ann.id)


async def test_the_page_is_csrf_protected_and_for_staff(
    client: httpx2.AsyncClient, office: BackOffice
) -> None:
    await clerk(office, "clerk", ["invoices.view"])
    await make_user(office, "customer")
    assert (await client.get(PAGE)).status_code == 302  # signed out: to the login page
    await signed_in(client, "clerk")
    form = {"name": "x", "expires_on": in_days(3), "scopes": "invoices.view"}
    assert (await client.post(PAGE, data=form)).status_code == 403
    assert (await client.post(f"{PAGE}/revoke", data={"ids": "1"})).status_code == 403


async def _key_id(office: BackOffice, user_id: int) -> int:
    from sqlmodel import col, select

    from backoffice.models import ApiKey

    async with office.session() as session:
        key_id = (
            await session.exec(select(ApiKey.id).where(col(ApiKey.user_id) == user_id))
        ).first()
    assert key_id is not None
    return key_id
