"""A host service that decides permissions itself (``has_permission`` overridden, no permission
codes involved): the admin asks that service, as the API does, for its menu, pages and buttons."""

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx2
import pytest
from sqlalchemy import ColumnElement
from sqlmodel import Field, SQLModel, col

from backoffice import BackOffice, Settings
from backoffice.models.permissions import Action
from backoffice.services.resources import ResourceService
from tests.admin.conftest import AdminBrowser
from tests.conftest import bearer, make_user, serving


class Visit(SQLModel, table=True):
    __tablename__ = "perm_visit"

    id: int | None = Field(default=None, primary_key=True)
    reason: str = Field(max_length=100)
    vet_id: int = Field(foreign_key="user.id")


class VisitCreate(SQLModel):
    reason: str = Field(max_length=100)
    vet_id: int


class VisitUpdate(SQLModel):
    reason: str | None = Field(default=None, max_length=100)


class VisitPublic(VisitCreate):
    id: int


class VisitService(ResourceService):
    """Any active staff user sees and edits their own visits; only superusers delete."""

    sort_fields: ClassVar[tuple[str, ...]] = ("id",)

    def visible_conditions(self) -> list[ColumnElement[bool]]:
        return [] if self.caller.is_superuser else [col(Visit.vet_id) == self.caller.user_id]

    async def has_permission(self, action: Action, obj: Any = None) -> bool:
        if action == "delete":
            return self.caller.is_superuser
        return self.caller.is_admin


@pytest.fixture
async def clinic(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office = BackOffice(settings)
    office.register(Visit, name="visits", service=VisitService)
    async with serving(office) as client:
        yield office, client


async def test_the_admin_follows_the_services_own_permissions(
    clinic: tuple[BackOffice, httpx2.AsyncClient],
) -> None:
    office, client = clinic
    await make_user(office, "root", is_staff=True, is_superuser=True)
    vet = await make_user(office, "vet", is_staff=True)  # no permission codes at all
    other = await make_user(office, "other", is_staff=True)
    root = await bearer(client, "root")
    for reason, vet_id in (("Mine", vet.id), ("Not mine", other.id)):
        body = {"reason": reason, "vet_id": vet_id}
        assert (await client.post("/api/visits/", json=body, headers=root)).status_code == 201

    api = await client.get("/api/visits/", headers=await bearer(client, "vet"))
    assert [item["reason"] for item in api.json()["items"]] == ["Mine"]

    browser = AdminBrowser(client)
    assert (await browser.login("vet")).status_code == 302
    dashboard = await client.get("/admin/")
    assert "/admin/visit/list" in dashboard.text  # in the menu
    page = await client.get("/admin/visit/list")
    assert page.status_code == 200
    assert "Mine" in page.text and "Not mine" not in page.text
    assert (await client.get("/admin/visit/create")).status_code == 200
    mine, theirs = (
        item["id"]
        for item in (await client.get("/api/visits/", headers=root)).json()["items"][::-1]
    )
    assert (await client.get(f"/admin/visit/edit/{mine}")).status_code == 200
    assert (await client.get(f"/admin/visit/details/{theirs}")).status_code == 404
    # Deleting is the superuser's: no delete for the vet, in the admin as in the API.
    assert "bulk/delete_selected" not in page.text
    refused = await browser.delete("visit", mine)
    assert refused.status_code == 403
    assert (
        await client.delete(f"/api/visits/{mine}", headers=await bearer(client, "vet"))
    ).status_code == 403
