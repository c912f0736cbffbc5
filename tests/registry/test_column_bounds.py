"""A host model whose schemas say nothing of what the database can store (no max_length, no
range, no NUL check): every door still answers 422 for what the columns cannot hold, and writes
nothing, on SQLite and PostgreSQL alike."""

import re
from collections.abc import AsyncIterator

import httpx2
import pytest
from sqlalchemy import BigInteger, Column, String, func
from sqlmodel import Field, SQLModel, select

from backoffice import BackOffice, Settings
from tests.admin.conftest import AdminBrowser
from tests.conftest import assert_problem, bearer, make_user, serving


class Parcel(SQLModel, table=True):
    __tablename__ = "bounds_parcel"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(12), nullable=False))
    weight_grams: int
    tracking: int = Field(sa_type=BigInteger)
    courier_id: int | None = Field(default=None, foreign_key="user.id")
    sender_id: int | None = Field(default=None, foreign_key="user.id")


class ParcelCreate(SQLModel):
    code: str
    weight_grams: int
    tracking: int
    courier_id: int | None = None
    sender_id: int | None = None


class ParcelUpdate(SQLModel):
    code: str | None = None
    weight_grams: int | None = None
    tracking: int | None = None
    courier_id: int | None = None


class ParcelPublic(ParcelCreate):
    id: int


@pytest.fixture
async def parcels(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    from backoffice.services.resources import ResourceService

    class ParcelService(ResourceService):
        filter_fields = ("weight_grams", "tracking", "courier_id")

    office = BackOffice(settings)
    office.register(Parcel, name="parcels", service=ParcelService)
    async with serving(office) as client:
        await make_user(office, "root", is_staff=True, is_superuser=True)
        yield office, client


GOOD = {"code": "PX-1", "weight_grams": 500, "tracking": 2**40}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "PX\x001", "must not contain NUL characters"),
        ("code", "P" * 13, "must be at most 12 characters long"),
        ("weight_grams", 2**31, "must be between -2147483648 and 2147483647"),
        ("tracking", 2**63, "must be between -9223372036854775808 and 9223372036854775807"),
        ("courier_id", 2**31, "must be between -2147483648 and 2147483647"),
    ],
)
async def test_the_api_refuses_what_the_columns_cannot_store(
    parcels: tuple[BackOffice, httpx2.AsyncClient], field: str, value: object, message: str
) -> None:
    office, client = parcels
    headers = await bearer(client, "root")
    created = await client.post("/api/parcels/", json={**GOOD, field: value}, headers=headers)
    problem = assert_problem(created, 422)
    assert problem["errors"][0]["loc"][-1] == field and problem["errors"][0]["msg"] == message

    existing = await client.post("/api/parcels/", json=GOOD, headers=headers)
    assert existing.status_code == 201, existing.text
    url = f"/api/parcels/{existing.json()['id']}"
    assert_problem(await client.patch(url, json={field: value}, headers=headers), 422)
    assert (await client.get(url, headers=headers)).json() == existing.json()
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Parcel)) == 1


async def test_a_filter_value_past_the_columns_range_is_a_422(
    parcels: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    _, client = parcels
    headers = await bearer(client, "root")
    for name, value in (("weight_grams", 2**31), ("courier_id", -(2**40)), ("tracking", 2**64)):
        response = await client.get("/api/parcels/", params={name: value}, headers=headers)
        assert_problem(response, 422)
    fine = await client.get("/api/parcels/", params={"tracking": 2**62}, headers=headers)
    assert fine.status_code == 200 and fine.json()["items"] == []


async def test_the_admin_form_refuses_it_beside_the_field(
    parcels: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = parcels
    browser = AdminBrowser(client)
    assert (await browser.login("root")).status_code == 302
    response = await browser.submit(
        "/admin/parcel/create",
        {"code": "P\x001", "weight_grams": "5", "tracking": "7"},
    )
    assert response.status_code == 400
    beside_code = re.search(
        r'name="code"[^>]*>\s*<div class="invalid-feedback">([^<]*)<', response.text
    )
    assert beside_code and beside_code[1] == "must not contain NUL characters"
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Parcel)) == 0


async def test_every_missing_reference_is_named_not_only_the_first(
    parcels: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = parcels
    headers = await bearer(client, "root")
    body = {**GOOD, "courier_id": 4000, "sender_id": 4001}
    problem = assert_problem(await client.post("/api/parcels/", json=body, headers=headers), 422)
    assert [(e["loc"][-1], e["msg"]) for e in problem["errors"]] == [
        ("courier_id", "user 4000 does not exist."),
        ("sender_id", "user 4001 does not exist."),
    ]
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Parcel)) == 0
