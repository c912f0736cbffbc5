"""Malformed admin input answers 404 (a key that cannot name a row) or 400 (a bad filter value),
never a 500: on PostgreSQL a number too large for the column reached the driver and failed."""

import httpx2
import pytest
from fastapi import FastAPI

from backoffice import BackOffice
from backoffice.services import Caller
from tests.admin.conftest import AdminBrowser
from tests.conftest import Account, bearer, make_user

BAD_KEYS = ["abc", str(2**31), str(2**63), str(2**63 + 1), str(2**70), "-" + str(2**64), "1.5"]


@pytest.mark.parametrize("page", ["details", "edit", "history"])
@pytest.mark.parametrize("identity", ["post", "user", "group"])
async def test_a_key_that_cannot_name_a_row_is_a_404(
    signed_in: AdminBrowser, identity: str, page: str
) -> None:
    for key in BAD_KEYS:
        response = await signed_in.client.get(f"/admin/{identity}/{page}/{key}")
        assert response.status_code == 404, (key, response.status_code)


async def test_the_delete_route_answers_404_for_a_bad_key(
    signed_in: AdminBrowser, superuser: Account
) -> None:
    token = await signed_in.token("/admin/post/list")
    for key in ["abc", str(2**63), str(2**31), "", f"{superuser.id},abc"]:
        response = await signed_in.client.delete(
            "/admin/post/delete", params={"pks": key}, headers={"X-CSRF-Token": token}
        )
        assert response.status_code == 404, (key, response.text)


@pytest.mark.parametrize(
    "params",
    [
        {"is_active": "maybe"},
        {"is_staff": str(2**70)},
        {"created_at": "forever"},
        {"created_at": str(2**64)},
    ],
)
async def test_a_bad_value_for_a_user_filter_is_a_400(
    signed_in: AdminBrowser, params: dict[str, str]
) -> None:
    for path in ("/admin/user/list", "/admin/user/export/csv"):
        response = await signed_in.client.get(path, params=params)
        assert response.status_code == 400, (path, params, response.status_code)


@pytest.fixture
async def host_admin(host_app: FastAPI) -> tuple[BackOffice, httpx2.AsyncClient]:
    office: BackOffice = host_app.state.backoffice
    await make_user(office, "root", is_staff=True, is_superuser=True)
    async with office.session() as session:
        operator = Caller.operator("system")
        customer = await office.service("customers", session, operator).create({"name": "Acme"})
        await office.service("invoices", session, operator).create(
            {"number": "F-1", "customer_id": customer.id, "amount_cents": 100}
        )
    return office, httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=host_app), base_url="http://testserver"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"customer_id": str(2**63 + 1), "customer_id_op": "equals"},
        {"customer_id": str(2**40), "customer_id_op": "greater_than"},
        {"customer_id": "abc", "customer_id_op": "equals"},
        {"customer_id": "1.5"},
        {"status": "bogus"},
        {"status": "bogus", "status_op": "equals"},
    ],
)
async def test_a_bad_value_for_a_generated_filter_is_a_400(
    host_admin: tuple[BackOffice, httpx2.AsyncClient], params: dict[str, str]
) -> None:
    _, client = host_admin
    async with client:
        assert (await AdminBrowser(client).login("root")).status_code == 302
        for path in ("/admin/invoice/list", "/admin/invoice/export/csv"):
            response = await client.get(path, params=params)
            assert response.status_code == 400, (path, params, response.status_code)
        for key in BAD_KEYS:
            assert (await client.get(f"/admin/invoice/details/{key}")).status_code == 404


async def test_good_values_for_a_generated_filter_still_filter(
    host_admin: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    _, client = host_admin
    async with client:
        assert (await AdminBrowser(client).login("root")).status_code == 302
        paid = await client.get(
            "/admin/invoice/list", params={"status": "paid", "status_op": "equals"}
        )
        assert paid.status_code == 200 and "F-1" not in paid.text
        draft = await client.get(
            "/admin/invoice/list", params={"status": "draft", "status_op": "equals"}
        )
        assert draft.status_code == 200 and "F-1" in draft.text
        some = await client.get("/admin/invoice/list", params={"customer_id": "__not_empty"})
        assert some.status_code == 200 and "F-1" in some.text
        other = await client.get("/admin/invoice/list", params={"customer_id": "999"})
        assert other.status_code == 200 and "F-1" not in other.text


async def test_the_api_refuses_a_filter_value_too_large_for_the_column(
    host_admin: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    _, client = host_admin
    async with client:
        headers = await bearer(client, "root")
        response = await client.get(
            "/api/invoices/", params={"customer_id": str(2**40)}, headers=headers
        )
        assert response.status_code == 422, response.text
