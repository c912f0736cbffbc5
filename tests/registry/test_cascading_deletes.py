"""Deleting a parent with a plain two-sided relationship: the database's ON DELETE rule applies
(cascade, or a clear refusal), not the ORM's nulling of a NOT NULL key."""

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import Field, Relationship, SQLModel, select

from backoffice import BackOffice, Settings
from examples.invoicing.models import Customer, Invoice
from tests.conftest import assert_problem, bearer, make_user, serving
from tests.registry.test_invoicing_example import make_invoice, signed_in


class Shelf(SQLModel, table=True):
    __tablename__ = "cascade_shelf"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    volumes: list["Volume"] = Relationship(back_populates="shelf")


class Volume(SQLModel, table=True):
    __tablename__ = "cascade_volume"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=50)
    shelf_id: int = Field(foreign_key="cascade_shelf.id", ondelete="CASCADE")
    shelf: Shelf | None = Relationship(back_populates="volumes")


class ShelfCreate(SQLModel):
    name: str = Field(max_length=50)


class ShelfUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=50)


class ShelfPublic(ShelfCreate):
    id: int


class VolumeCreate(SQLModel):
    title: str = Field(max_length=50)
    shelf_id: int


class VolumeUpdate(SQLModel):
    title: str | None = Field(default=None, max_length=50)


class VolumePublic(VolumeCreate):
    id: int


@pytest.fixture
async def shelves(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office = BackOffice(settings)
    office.register(Shelf, name="shelves")
    office.register(Volume, name="volumes")
    async with serving(office) as client:
        await make_user(office, "root", is_staff=True, is_superuser=True)
        yield office, client


async def test_deleting_a_parent_lets_the_database_cascade_to_its_children(
    shelves: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = shelves
    headers = await bearer(client, "root")
    shelf = (await client.post("/api/shelves/", json={"name": "A"}, headers=headers)).json()
    other = (await client.post("/api/shelves/", json={"name": "B"}, headers=headers)).json()
    for title, owner in (("Dune", shelf), ("Emma", shelf), ("Kim", other)):
        body = {"title": title, "shelf_id": owner["id"]}
        assert (await client.post("/api/volumes/", json=body, headers=headers)).status_code == 201

    deleted = await client.delete(f"/api/shelves/{shelf['id']}", headers=headers)

    assert deleted.status_code == 204, deleted.text
    async with office.session() as session:
        titles = (await session.exec(select(Volume.title))).all()
        assert titles == ["Kim"]


async def test_a_restricting_key_refuses_the_delete_with_a_reason(
    host: httpx2.AsyncClient, host_app: FastAPI
) -> None:
    office: BackOffice = host_app.state.backoffice
    headers = await signed_in(host, office)
    invoice = await make_invoice(host, headers)
    response = await host.delete(f"/api/customers/{invoice['customer_id']}", headers=headers)
    problem = assert_problem(response, 409)
    assert problem["detail"] == (
        f"Customer {invoice['customer_id']} cannot be deleted: other rows refer to it."
    )
    async with office.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
