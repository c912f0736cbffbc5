"""``register(..., permissions=False, audit=False)``: a resource any staff user may manage,
left out of the audit log."""

import re
from collections.abc import AsyncIterator

import httpx2
import pytest
from sqlmodel import Field, SQLModel, select

from backoffice import BackOffice, Settings
from backoffice.models import AuditEntry
from tests.conftest import DEFAULT_PASSWORD, bearer, make_user


class Note(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=200)


class NoteCreate(SQLModel):
    text: str = Field(min_length=1, max_length=200)


class NoteUpdate(SQLModel):
    text: str | None = Field(default=None, min_length=1, max_length=200)


class NotePublic(SQLModel):
    id: int
    text: str


async def started(settings: Settings, **options: bool) -> tuple[BackOffice, httpx2.AsyncClient]:
    office = BackOffice(settings)
    office.register(Note, **options)
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    transport = httpx2.ASGITransport(app=office.create_app())
    return office, httpx2.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def open_notes(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office, client = await started(settings, permissions=False, audit=False)
    async with client:
        yield office, client
    await office.dispose()


@pytest.fixture
async def guarded_notes(
    settings: Settings,
) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office, client = await started(settings)
    async with client:
        yield office, client
    await office.dispose()


async def test_without_permissions_any_staff_user_manages_it_and_nobody_else(
    open_notes: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = open_notes
    await make_user(office, "root", is_staff=True, is_superuser=True)
    await make_user(office, "clerk", is_staff=True)
    await make_user(office, "alice")
    staff = await bearer(client, "clerk")

    created = await client.post("/api/notes/", json={"text": "hello"}, headers=staff)
    assert created.status_code == 201, created.text
    plain = await bearer(client, "alice")
    assert (await client.get("/api/notes/", headers=plain)).status_code == 403
    catalogue = await client.get("/api/permissions/", headers=await bearer(client, "root"))
    assert not [p for p in catalogue.json() if p["resource"] == "notes"]


async def test_without_audit_its_changes_leave_no_entry(
    open_notes: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = open_notes
    await make_user(office, "root", is_staff=True, is_superuser=True)
    root = await bearer(client, "root")
    note = (await client.post("/api/notes/", json={"text": "a"}, headers=root)).json()
    await client.patch(f"/api/notes/{note['id']}", json={"text": "b"}, headers=root)
    await client.delete(f"/api/notes/{note['id']}", headers=root)
    async with office.session() as session:
        types = (await session.exec(select(AuditEntry.object_type))).all()
    assert "notes" not in types and "users" in types


async def test_by_default_it_has_its_own_permissions_and_audit(
    guarded_notes: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = guarded_notes
    await make_user(office, "root", is_staff=True, is_superuser=True)
    await make_user(office, "clerk", is_staff=True)
    refused = await client.post(
        "/api/notes/", json={"text": "hello"}, headers=await bearer(client, "clerk")
    )
    assert refused.status_code == 403
    root = await bearer(client, "root")
    assert (await client.post("/api/notes/", json={"text": "x"}, headers=root)).status_code == 201
    catalogue = await client.get("/api/permissions/", headers=root)
    assert {p["code"] for p in catalogue.json() if p["resource"] == "notes"} == {
        "notes.view",
        "notes.add",
        "notes.change",
        "notes.delete",
    }
    audit = await client.get("/api/audit/", params={"object_type": "notes"}, headers=root)
    assert [e["action"] for e in audit.json()["items"]] == ["create"]


async def test_the_built_in_posts_can_be_switched_off(settings: Settings) -> None:
    office = BackOffice(settings.model_copy(update={"posts": False}))
    assert "posts" not in [resource.name for resource in office.registry]
    async with office.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    transport = httpx2.ASGITransport(app=office.create_app())
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await make_user(office, "root", is_staff=True, is_superuser=True)
            headers = await bearer(client, "root")
            assert (await client.get("/api/posts/", headers=headers)).status_code == 404
            spec = (await client.get("/api/openapi.json")).json()
            assert not [path for path in spec["paths"] if path.startswith("/api/posts")]
            catalogue = await client.get("/api/permissions/", headers=headers)
            assert not [p for p in catalogue.json() if p["resource"] == "posts"]
            page = await client.get("/admin/login")
            login = {"username": "root", "password": DEFAULT_PASSWORD}
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
            assert token is not None
            await client.post("/admin/login", data={**login, "csrf_token": token.group(1)})
            dashboard = await client.get("/admin/")
            assert dashboard.status_code == 200
            assert "/admin/post/list" not in dashboard.text and "/admin/user/list" in dashboard.text
            assert (await client.get("/admin/post/list")).status_code == 404
    finally:
        await office.dispose()
