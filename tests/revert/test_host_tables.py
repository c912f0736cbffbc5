"""Revert and the trash on a host's own tables (not the invoicing example's shapes): a table that
opts in to the trash, one that does not (a delete is brought back from the audit log, its enum,
date and reference restored), and the start-up check for a trash table missing its columns."""

import enum
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select

from backoffice import BackOffice, Settings
from backoffice.models import AuditEntry, utcnow
from backoffice.registry import ImproperlyConfigured
from backoffice.services import Caller
from backoffice.services.trash import has_trash
from tests.conftest import DEFAULT_PASSWORD, assert_problem, bearer, make_user, serving


class Genre(enum.Enum):
    novel = "novel"
    poetry = "poetry"


class Bookcase(SQLModel, table=True):
    """A library's shelves: deleting one moves it to the trash."""

    __tablename__ = "trash_shelf"
    __backoffice_trash__ = True

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    room: str = Field(default="", max_length=40)

    def __str__(self) -> str:
        return f"Bookcase {self.code}"


class BookcaseCreate(SQLModel):
    code: str = Field(max_length=20)
    room: str = ""


class BookcaseUpdate(SQLModel):
    code: str | None = Field(default=None, max_length=20)
    room: str | None = None


class BookcasePublic(SQLModel):
    id: int
    code: str
    room: str


class Tome(SQLModel, table=True):
    """No trash: a delete is gone, but its audit entry holds its fields."""

    __tablename__ = "trash_volume"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    genre: Genre = Genre.novel
    published: date | None = None
    shelf_id: int | None = Field(default=None, foreign_key="trash_shelf.id")


class TomeCreate(SQLModel):
    title: str
    genre: Genre = Genre.novel
    published: date | None = None
    shelf_id: int | None = None


class TomeUpdate(SQLModel):
    title: str | None = None
    genre: Genre | None = None
    published: date | None = None
    shelf_id: int | None = None


class TomePublic(SQLModel):
    id: int
    title: str
    genre: Genre
    published: date | None
    shelf_id: int | None


def library(settings: Settings) -> BackOffice:
    office = BackOffice(settings)
    office.register(Bookcase, name="shelves")
    office.register(Tome, name="volumes")
    return office


async def test_a_host_table_with_a_trash(settings: Settings) -> None:
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        assert office.registry.get("shelves").trash and not office.registry.get("volumes").trash
        assert has_trash(Bookcase) and not has_trash(Tome)
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        shelf = (await client.post("/api/shelves/", json={"code": "A1"}, headers=headers)).json()
        url = f"/api/shelves/{shelf['id']}"
        assert (await client.delete(url, headers=headers)).status_code == 204

        assert_problem(await client.get(url, headers=headers), 404)
        assert (await client.get("/api/shelves/", headers=headers)).json()["items"] == []
        clash = await client.post("/api/shelves/", json={"code": "A1"}, headers=headers)
        assert_problem(clash, 409)  # its unique code stays taken
        # A reference to a shelf in the trash is refused like one to a missing shelf.
        volume = await client.post(
            "/api/volumes/", json={"title": "X", "shelf_id": shelf["id"]}, headers=headers
        )
        assert_problem(volume, 422)

        trash = (await client.get("/api/trash/shelves/", headers=headers)).json()["items"]
        assert [(row["id"], row["label"], row["deleted_by"]) for row in trash] == [
            (shelf["id"], "Bookcase A1", "root")
        ]
        restored = await client.post(f"/api/trash/shelves/{shelf['id']}/restore", headers=headers)
        assert restored.status_code == 200 and restored.json()["code"] == "A1"
        assert (await client.get(url, headers=headers)).status_code == 200


async def test_a_deleted_row_without_a_trash_comes_back_from_the_audit_log(
    settings: Settings,
) -> None:
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        shelf = (await client.post("/api/shelves/", json={"code": "B2"}, headers=headers)).json()
        created = await client.post(
            "/api/volumes/",
            json={
                "title": "Leaves of Grass",
                "genre": "poetry",
                "published": "1855-07-04",
                "shelf_id": shelf["id"],
            },
            headers=headers,
        )
        volume = created.json()
        url = f"/api/volumes/{volume['id']}"
        assert (await client.delete(url, headers=headers)).status_code == 204
        assert_problem(await client.get(url, headers=headers), 404)
        assert_problem(await client.get("/api/trash/volumes/", headers=headers), 404)

        async with office.session() as session:
            entry = (
                await session.exec(
                    select(AuditEntry).where(
                        col(AuditEntry.object_type) == "volumes", col(AuditEntry.action) == "delete"
                    )
                )
            ).one()
        back = await client.post(f"/api/audit/{entry.id}/revert", headers=headers)
        assert back.status_code == 200, back.text
        assert [e["action"] for e in back.json()["entries"]] == ["restore"]
        assert (await client.get(url, headers=headers)).json() == volume

        # Brought back twice? It exists already: refused, with the reason.
        again = assert_problem(
            await client.post(f"/api/audit/{entry.id}/revert", headers=headers), 409
        )
        assert "restored later" in again["detail"]


async def test_the_admin_hides_a_host_row_in_the_trash_and_lists_it_in_its_trash(
    settings: Settings,
) -> None:
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        kept = (await client.post("/api/shelves/", json={"code": "KEEP"}, headers=headers)).json()
        gone = (await client.post("/api/shelves/", json={"code": "GONE"}, headers=headers)).json()
        await client.delete(f"/api/shelves/{gone['id']}", headers=headers)

        page = await client.get("/admin/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed = await client.post(
            "/admin/login",
            data={"username": "root", "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
        assert signed.status_code == 302
        listing = await client.get("/admin/bookcase/list")
        assert "KEEP" in listing.text and "GONE" not in listing.text
        assert (await client.get(f"/admin/bookcase/details/{gone['id']}")).status_code == 404
        assert (await client.get(f"/admin/bookcase/edit/{gone['id']}")).status_code == 404
        export = await client.get("/admin/bookcase/export/csv")
        assert "KEEP" in export.text and "GONE" not in export.text
        trash = await client.get("/admin/bookcase/trash")
        assert trash.status_code == 200 and f'data-pk="{gone["id"]}"' in trash.text
        assert f'data-pk="{kept["id"]}"' not in trash.text


async def test_a_trash_table_without_its_columns_stops_the_start(settings: Settings) -> None:
    office = library(settings)
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
        await connection.exec_driver_sql("ALTER TABLE trash_shelf DROP COLUMN deleted_by")
    app: FastAPI = office.create_app()
    try:
        with pytest.raises(ImproperlyConfigured) as stopped:
            async with app.router.lifespan_context(app):
                pass
        assert str(stopped.value).startswith("backoffice.E016: Bookcase (table 'trash_shelf')")
    finally:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
        await office.dispose()


async def test_bringing_back_what_no_longer_fits_is_a_409_naming_why(settings: Settings) -> None:
    """A row re-created from the log whose unique value was taken since, or whose reference
    is now in the trash, is refused with the reason (never a 500), and nothing is written."""
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        old = (await client.post("/api/shelves/", json={"code": "C3"}, headers=headers)).json()
        await client.delete(f"/api/shelves/{old['id']}", headers=headers)
        assert (
            await client.delete(f"/api/trash/shelves/{old['id']}", headers=headers)
        ).status_code == 204
        await client.post("/api/shelves/", json={"code": "C3"}, headers=headers)  # taken again
        purge = await _entry(office, "shelves", "purge")
        clash = assert_problem(
            await client.post(f"/api/audit/{purge}/revert", headers=headers), 409
        )
        assert clash["detail"].startswith(f"Nothing was reverted: entry {purge} (shelves")
        assert "Bookcase C3" in clash["detail"]

        shelf = (await client.post("/api/shelves/", json={"code": "D4"}, headers=headers)).json()
        tome = await client.post(
            "/api/volumes/", json={"title": "Odes", "shelf_id": shelf["id"]}, headers=headers
        )
        await client.delete(f"/api/volumes/{tome.json()['id']}", headers=headers)
        await client.delete(f"/api/shelves/{shelf['id']}", headers=headers)  # to the trash
        delete = await _entry(office, "volumes", "delete")
        gone = assert_problem(
            await client.post(f"/api/audit/{delete}/revert", headers=headers), 409
        )
        assert f"shelf_id: trash_shelf {shelf['id']} does not exist." in gone["detail"]
        assert_problem(await client.get(f"/api/volumes/{tome.json()['id']}", headers=headers), 404)


async def test_a_row_brought_back_keeps_counting_versions(settings: Settings) -> None:
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        tome = (await client.post("/api/volumes/", json={"title": "a"}, headers=headers)).json()
        url = f"/api/volumes/{tome['id']}"
        for title in ("b", "c"):
            await client.patch(url, json={"title": title}, headers=headers)
        assert (await client.get(url, headers=headers)).headers["etag"] == '"3"'
        await client.delete(url, headers=headers)
        delete = await _entry(office, "volumes", "delete")
        assert (
            await client.post(f"/api/audit/{delete}/revert", headers=headers)
        ).status_code == 200
        assert (await client.get(url, headers=headers)).headers["etag"] == '"4"'
        stale = await client.patch(url, json={"title": "z"}, headers={**headers, "If-Match": '"1"'})
        assert_problem(stale, 412)


async def test_purge_by_age_keeps_a_row_others_refer_to_and_purges_the_rest(
    settings: Settings,
) -> None:
    async with serving(library(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        used = (await client.post("/api/shelves/", json={"code": "E5"}, headers=headers)).json()
        free = (await client.post("/api/shelves/", json={"code": "F6"}, headers=headers)).json()
        await client.post(
            "/api/volumes/", json={"title": "Kept", "shelf_id": used["id"]}, headers=headers
        )
        for shelf in (used, free):
            await client.delete(f"/api/shelves/{shelf['id']}", headers=headers)
        async with office.session() as session:
            await session.exec(  # type: ignore[call-overload]
                update(Bookcase).values(deleted_at=utcnow() - timedelta(days=90))
            )
        report = (await office.purge_trash(Caller.operator("cli")))["shelves"]
        assert report.count == 1
        assert report.kept == [f"Bookcase {used['id']} cannot be purged: other rows refer to it."]
        async with office.session() as session:
            assert await session.get(Bookcase, free["id"]) is None
            assert await session.get(Bookcase, used["id"]) is not None


async def _entry(office: BackOffice, object_type: str, action: str) -> int:
    async with office.session() as session:
        found = await session.exec(
            select(AuditEntry.id)
            .where(col(AuditEntry.object_type) == object_type, col(AuditEntry.action) == action)
            .order_by(col(AuditEntry.id).desc())
        )
        return int(found.first() or 0)
