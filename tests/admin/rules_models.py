"""A small lending library registered as host resources, with row rules in its services: a
member sees only their own loans (``visible_conditions``), never an archived one
(``has_permission("view", obj)``), and may not change or delete a returned one."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx2
import pytest
from sqlalchemy import ColumnElement
from sqlmodel import Field, Relationship, SQLModel, col

from backoffice import BackOffice, Settings
from backoffice.models import User
from backoffice.models.permissions import Action
from backoffice.services import Caller
from backoffice.services.resources import ResourceService
from tests.admin.conftest import AdminBrowser
from tests.conftest import grant, make_user, serving


class Loan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    member_id: int = Field(foreign_key="user.id")
    returned: bool = False
    archived: bool = False
    member: User | None = Relationship()


class LoanCreate(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    member_id: int
    returned: bool = False
    archived: bool = False


class LoanUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    returned: bool | None = None


class LoanPublic(SQLModel):
    id: int
    title: str
    member_id: int
    returned: bool
    archived: bool


class LoanService(ResourceService):
    filter_fields: ClassVar[tuple[str, ...]] = ("member_id", "returned")

    def visible_conditions(self) -> list[ColumnElement[bool]]:
        if self.caller.is_superuser:
            return []
        return [col(Loan.member_id) == self.caller.user_id]

    async def has_permission(self, action: Action, obj: Any = None) -> bool:
        if not await super().has_permission(action, obj):
            return False
        if obj is None or self.caller.is_superuser:
            return True
        if obj.archived:
            return False
        return action == "view" or not obj.returned


class Renewal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    weeks: int = 1
    loan: Loan | None = Relationship()


class RenewalCreate(SQLModel):
    loan_id: int
    weeks: int = Field(default=1, ge=1, le=8)


class RenewalUpdate(SQLModel):
    loan_id: int | None = None
    weeks: int | None = Field(default=None, ge=1, le=8)


class RenewalPublic(SQLModel):
    id: int
    loan_id: int
    weeks: int


Library = tuple[BackOffice, httpx2.AsyncClient]


@dataclass
class Loans:
    mine: int
    returned: int
    others: int
    archived: int


async def lend(office: BackOffice, title: str, member_id: int, **flags: bool) -> int:
    async with office.session() as session:
        service = office.service("loans", session, Caller.operator("system"))
        loan = await service.create({"title": title, "member_id": member_id, **flags})
        return int(loan.id)


async def scene(office: BackOffice) -> Loans:
    """root (superuser); clerk (staff: loans.view/change/delete, audit.view); reader."""
    await make_user(office, "root", is_staff=True, is_superuser=True)
    clerk = await make_user(office, "clerk", is_staff=True)
    await grant(office, clerk, ["loans.view", "loans.change", "loans.delete", "audit.view"])
    reader = await make_user(office, "reader")
    return Loans(
        mine=await lend(office, "Mine open", clerk.id),
        returned=await lend(office, "Mine returned", clerk.id, returned=True),
        others=await lend(office, "Someone else's secret", reader.id),
        archived=await lend(office, "Mine archived", clerk.id, archived=True),
    )


async def signed_in_as(client: httpx2.AsyncClient, login: str) -> AdminBrowser:
    browser = AdminBrowser(client)
    assert (await browser.login(login)).status_code == 302
    return browser


@pytest.fixture
async def library(settings: Settings) -> AsyncIterator[tuple[BackOffice, httpx2.AsyncClient]]:
    office = BackOffice(settings)
    office.register(Loan, service=LoanService)
    office.register(Renewal)
    async with serving(office) as client:
        yield office, client
