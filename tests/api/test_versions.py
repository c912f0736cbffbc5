"""Record versions over HTTP: an ``ETag`` on reads, ``If-Match`` on writes; a save over a newer
version answers 412 and writes nothing, on SQLite and PostgreSQL."""

import asyncio
from typing import Any

import httpx2
import pytest
from sqlmodel import Field, SQLModel, col, select

from backoffice import BackOffice, Settings
from backoffice.errors import Stale
from backoffice.models import AuditEntry, PostCreate, UserUpdate
from backoffice.registry import ImproperlyConfigured
from backoffice.services import Caller
from backoffice.services.resources import ResourceService
from backoffice.services.versions import is_versioned
from tests.conftest import Account, assert_problem, bearer, make_user, serving
from tests.servers import ServerThread

OPERATOR = Caller.operator("system")


class VersionedNote(SQLModel, table=True):
    __tablename__ = "versioned_note"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    body: str = Field(default="", max_length=1000)


class VersionedNoteCreate(SQLModel):
    title: str
    body: str = ""


class VersionedNoteUpdate(SQLModel):
    title: str | None = None
    body: str | None = None


class VersionedNotePublic(SQLModel):
    id: int
    title: str
    body: str


class UnversionedNote(SQLModel, table=True):
    """A host table that keeps last-save-wins."""

    __tablename__ = "unversioned_note"
    __backoffice_versioned__ = False

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)


class UnversionedNoteCreate(SQLModel):
    title: str


class UnversionedNoteUpdate(SQLModel):
    title: str | None = None


class UnversionedNotePublic(SQLModel):
    id: int
    title: str


class SlowNoteService(ResourceService):
    """Both writers read the note before either writes: the race the version must settle."""

    async def before_update(self, obj: Any, changes: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)


def notes_office(settings: Settings) -> BackOffice:
    office = BackOffice(settings)
    office.register(VersionedNote, name="notes", service=SlowNoteService)
    office.register(UnversionedNote, name="plainnotes")
    return office


async def add_note(client: httpx2.AsyncClient, headers: dict[str, str]) -> int:
    created = await client.post("/api/notes/", json={"title": "draft"}, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_two_simultaneous_patches_with_one_if_match_make_one_200_and_one_412(
    settings: Settings,
) -> None:
    async with serving(notes_office(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        note = await add_note(client, headers)
        read = await client.get(f"/api/notes/{note}", headers=headers)
        assert read.headers["etag"] == '"1"'

        answers = await asyncio.gather(
            *(
                client.patch(
                    f"/api/notes/{note}",
                    json={"title": title},
                    headers={**headers, "If-Match": read.headers["etag"]},
                )
                for title in ("from Ann", "from Bob")
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 412]
        won = next(a for a in answers if a.status_code == 200)
        lost = next(a for a in answers if a.status_code == 412)
        assert won.headers["etag"] == '"2"'
        problem = assert_problem(lost, 412)
        assert problem["current_version"] == 2
        assert lost.headers["etag"] == '"2"'
        assert "version 1" in problem["detail"]

        # Nothing lost: the winner's title is there, and the log has exactly its change.
        now = await client.get(f"/api/notes/{note}", headers=headers)
        assert now.json()["title"] == won.json()["title"]
        assert now.headers["etag"] == '"2"'
        async with office.session() as session:
            entries = (
                await session.exec(
                    select(AuditEntry).where(
                        col(AuditEntry.object_type) == "notes", col(AuditEntry.action) == "update"
                    )
                )
            ).all()
        assert [e.changes["title"] for e in entries] == [["draft", won.json()["title"]]]
        assert entries[0].object_version == 2

        # Without If-Match both writes land, one after the other, and the version counts both.
        plain = await asyncio.gather(
            client.patch(f"/api/notes/{note}", json={"title": "t"}, headers=headers),
            client.patch(f"/api/notes/{note}", json={"body": "b"}, headers=headers),
        )
        assert [a.status_code for a in plain] == [200, 200]
        final = await client.get(f"/api/notes/{note}", headers=headers)
        assert (final.json()["title"], final.json()["body"]) == ("t", "b")
        assert final.headers["etag"] == '"4"'


async def test_simultaneous_if_match_patches_through_a_real_server(settings: Settings) -> None:
    """Two PATCHes of one user through uvicorn, each in its own connection and session."""
    office = BackOffice(settings)
    async with serving(office):
        await make_user(office, "root", is_staff=True, is_superuser=True)
        target = await make_user(office, "target")
        # Its own office: the server's loop must not reuse this loop's pooled connections.
        served = BackOffice(settings)
        server = ServerThread(served.create_app())
        await server.start_async()
        try:
            async with httpx2.AsyncClient(base_url=server.url) as client:
                headers = await bearer(client, "root")
                url = f"/api/users/{target.id}"
                etag = (await client.get(url, headers=headers)).headers["etag"]
                answers = await asyncio.gather(
                    *(
                        client.patch(
                            url, json={"full_name": name}, headers={**headers, "If-Match": etag}
                        )
                        for name in ("Ann's edit", "Bob's edit")
                    )
                )
                assert sorted(a.status_code for a in answers) == [200, 412]
                won = next(a for a in answers if a.status_code == 200).json()["full_name"]
                assert (await client.get(url, headers=headers)).json()["full_name"] == won
        finally:
            await server.stop_async()


async def test_a_stale_delete_is_refused_and_the_row_stays(
    client: httpx2.AsyncClient, superuser: Account, office: BackOffice
) -> None:
    headers = await bearer(client, "root")
    created = await client.post("/api/posts/", json={"title": "t", "body": "b"}, headers=headers)
    url = f"/api/posts/{created.json()['id']}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    assert etag == '"1"'
    changed = await client.patch(url, json={"title": "new"}, headers={**headers, "If-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    refused = await client.delete(url, headers={**headers, "If-Match": etag})
    assert assert_problem(refused, 412)["current_version"] == 2
    assert (await client.get(url, headers=headers)).status_code == 200
    done = await client.delete(url, headers={**headers, "If-Match": '"2"'})
    assert done.status_code == 204


async def test_a_save_that_changes_nothing_keeps_the_version(
    client: httpx2.AsyncClient, superuser: Account
) -> None:
    headers = await bearer(client, "root")
    url = f"/api/users/{superuser.id}"
    same = await client.patch(url, json={"username": "root"}, headers={**headers, "If-Match": "1"})
    assert same.status_code == 200 and same.headers["etag"] == '"1"'
    stale = await client.patch(url, json={"username": "root"}, headers={**headers, "If-Match": "0"})
    assert assert_problem(stale, 412)["current_version"] == 1


async def test_groups_carry_versions_too(client: httpx2.AsyncClient, superuser: Account) -> None:
    headers = await bearer(client, "root")
    created = await client.post("/api/groups/", json={"name": "Editors"}, headers=headers)
    url = f"/api/groups/{created.json()['id']}"
    read = await client.get(url, headers=headers)
    assert read.headers["etag"] == '"1"' and "version" not in read.json()
    renamed = await client.patch(
        url, json={"name": "Writers"}, headers={**headers, "If-Match": '"1"'}
    )
    assert renamed.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"name": "Authors"}, headers={**headers, "If-Match": "1"})
    assert_problem(stale, 412)
    assert (await client.get(url, headers=headers)).json()["name"] == "Writers"


@pytest.mark.parametrize("value", ['W/"1"', '"1", "2"', "one"])
async def test_an_if_match_that_names_no_one_version_is_refused(
    client: httpx2.AsyncClient, superuser: Account, value: str
) -> None:
    headers = await bearer(client, "root")
    answer = await client.patch(
        f"/api/users/{superuser.id}",
        json={"full_name": "x"},
        headers={**headers, "If-Match": value},
    )
    # A tag that names no one version matches none: the precondition fails, nothing is written.
    body = assert_problem(answer, 412)
    assert "If-Match" in body["detail"]
    assert body["type"] == "urn:backoffice:problem:precondition_failed"
    assert (await client.get(f"/api/users/{superuser.id}", headers=headers)).json()[
        "full_name"
    ] != "x"


async def test_writes_without_if_match_answer_428_when_the_setting_requires_it(
    settings: Settings,
) -> None:
    office = notes_office(settings.model_copy(update={"require_if_match": True}))
    async with serving(office) as client:
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        note = await add_note(client, headers)  # creating needs no version
        url = f"/api/notes/{note}"
        for answer in (
            await client.patch(url, json={"title": "x"}, headers=headers),
            await client.delete(url, headers=headers),
            await client.patch("/api/users/1", json={"full_name": "x"}, headers=headers),
        ):
            assert "If-Match" in assert_problem(answer, 428)["detail"]
        assert (await client.get(url, headers=headers)).json()["title"] == "draft"
        ok = await client.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"1"'})
        assert ok.status_code == 200
        assert (await client.delete(url, headers={**headers, "If-Match": "*"})).status_code == 204


async def test_host_code_gets_the_same_check_from_the_service(office: BackOffice) -> None:
    """No HTTP: what the CLI and a host's own code call."""
    user = (await make_user(office, "carol")).user
    assert user.id is not None
    async with office.session() as session:
        await office.users(session, OPERATOR).update(
            user.id, UserUpdate(full_name="first"), version=1
        )
    with pytest.raises(Stale) as refused:
        async with office.session() as session:
            await office.users(session, OPERATOR).update(
                user.id, UserUpdate(full_name="second"), version=1
            )
    assert refused.value.current_version == 2
    async with office.session() as session:
        assert (await office.users(session, OPERATOR).get(user.id)).full_name == "first"
        post = await office.posts(session, OPERATOR).create(
            PostCreate(title="t", body="b"), author_id=user.id
        )
    assert post.version == 1


async def test_an_opted_out_table_has_no_version_and_last_save_wins(settings: Settings) -> None:
    async with serving(notes_office(settings)) as client:
        office: BackOffice = client._transport.app.state.backoffice  # type: ignore[attr-defined]
        assert not is_versioned(UnversionedNote) and is_versioned(VersionedNote)
        assert not office.registry.get("plainnotes").versioned
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        created = await client.post("/api/plainnotes/", json={"title": "a"}, headers=headers)
        url = f"/api/plainnotes/{created.json()['id']}"
        assert "etag" not in (await client.get(url, headers=headers)).headers
        again = await client.patch(url, json={"title": "b"}, headers={**headers, "If-Match": "7"})
        assert again.status_code == 200


async def test_a_versioned_table_without_its_column_stops_the_start(settings: Settings) -> None:
    office = notes_office(settings)
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
        await connection.exec_driver_sql("ALTER TABLE versioned_note DROP COLUMN version")
    app = office.create_app()
    try:
        with pytest.raises(ImproperlyConfigured) as stopped:
            async with app.router.lifespan_context(app):
                pass
        message = str(stopped.value)
        assert message.startswith("backoffice.E012: VersionedNote (table 'versioned_note')")
        assert "makemigrations" in message and "__backoffice_versioned__ = False" in message
    finally:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
        await office.dispose()
