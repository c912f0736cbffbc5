"""``OwnedService``: a row belongs to a user. Holders of the resource's permissions work on every
row; anyone else signed in lists, sees, adds, changes and deletes their own rows only."""

from collections.abc import AsyncIterator
from typing import ClassVar

import httpx2
import pytest
from sqlmodel import Field, SQLModel

from backoffice import BackOffice, Settings
from backoffice.services.owned import OwnedService
from tests.conftest import assert_problem, bearer, grant, make_user, serving


class Reservation(SQLModel, table=True):
    __tablename__ = "owned_reservation"

    id: int | None = Field(default=None, primary_key=True)
    room: str = Field(max_length=50)
    holder_id: int = Field(foreign_key="user.id", ondelete="CASCADE")


class ReservationCreate(SQLModel):
    room: str = Field(max_length=50)
    holder_id: int | None = None


class ReservationUpdate(SQLModel):
    room: str | None = Field(default=None, max_length=50)
    holder_id: int | None = None


class ReservationPublic(SQLModel):
    id: int
    room: str
    holder_id: int


class ReservationService(OwnedService):
    owner_field: ClassVar[str] = "holder_id"


@pytest.fixture
async def rooms(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office = BackOffice(settings)
    office.register(Reservation, name="reservations", service=ReservationService)
    async with serving(office) as client:
        yield office, client


async def test_anyone_signed_in_works_on_their_own_rows_only(
    rooms: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = rooms
    ann, bob = await make_user(office, "ann"), await make_user(office, "bob")
    as_ann, as_bob = await bearer(client, "ann"), await bearer(client, "bob")

    mine = await client.post("/api/reservations/", json={"room": "Blue"}, headers=as_ann)
    assert mine.status_code == 201, mine.text
    assert mine.json()["holder_id"] == ann.id  # the owner is filled in
    theirs = await client.post("/api/reservations/", json={"room": "Red"}, headers=as_bob)
    url, other = (
        f"/api/reservations/{mine.json()['id']}",
        f"/api/reservations/{theirs.json()['id']}",
    )

    listed = await client.get("/api/reservations/", headers=as_ann)
    assert [r["room"] for r in listed.json()["items"]] == ["Blue"]
    assert (await client.get(other, headers=as_ann)).status_code == 404
    assert (await client.patch(other, json={"room": "X"}, headers=as_ann)).status_code == 404
    assert (await client.delete(other, headers=as_ann)).status_code == 404

    changed = await client.patch(url, json={"room": "Green"}, headers=as_ann)
    assert changed.status_code == 200 and changed.json()["room"] == "Green"
    for refused in (
        await client.post(
            "/api/reservations/", json={"room": "Sly", "holder_id": bob.id}, headers=as_ann
        ),
        await client.patch(url, json={"holder_id": bob.id}, headers=as_ann),
    ):
        problem = assert_problem(refused, 403)
        assert problem["detail"] == "You may only give yourself as the holder of a reservation."
    assert (await client.delete(url, headers=as_ann)).status_code == 204
    anonymous = await client.get("/api/reservations/")
    assert anonymous.status_code == 401


async def test_holders_of_the_permissions_work_on_every_row(
    rooms: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = rooms
    await make_user(office, "ann")
    desk = await make_user(office, "desk", is_staff=True)
    await grant(office, desk, ["reservations.view"])
    as_ann = await bearer(client, "ann")
    made = await client.post("/api/reservations/", json={"room": "Blue"}, headers=as_ann)
    url = f"/api/reservations/{made.json()['id']}"

    as_desk = await bearer(client, "desk")
    listed = await client.get("/api/reservations/", headers=as_desk)
    assert [r["room"] for r in listed.json()["items"]] == ["Blue"]
    assert (await client.get(url, headers=as_desk)).status_code == 200
    # Viewing every row is not changing it: only the owner's rule or the change permission.
    assert (await client.patch(url, json={"room": "X"}, headers=as_desk)).status_code == 403
    await grant(office, desk, ["reservations.change"])
    assert (await client.patch(url, json={"room": "X"}, headers=as_desk)).status_code == 200
