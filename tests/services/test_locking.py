"""Invariant checks under concurrency: ``Service.lock`` holds a row for the rest of the unit of
work, on SQLite and PostgreSQL alike (ten simultaneous loans of a one-copy book: one succeeds)."""

import asyncio
from typing import Any

from sqlalchemy import func
from sqlmodel import Field, SQLModel, col, select

from backoffice import BackOffice, Settings
from backoffice.errors import Conflict, NotFound
from backoffice.services import Caller
from backoffice.services.base import Service
from backoffice.services.resources import ResourceService
from tests.conftest import bearer, make_user, serving

OPERATOR = Caller.operator("system")


class LockingBook(SQLModel, table=True):
    __tablename__ = "locking_book"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    copies: int
    updated: int = 0


class LockingLoan(SQLModel, table=True):
    __tablename__ = "locking_loan"

    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="locking_book.id")


class LoanService(Service):
    """What a host service writes: lock the book, count its loans, lend if a copy is left."""

    async def lend(self, book_id: int) -> LockingLoan:
        book = await self.lock(LockingBook, book_id)
        if book is None:
            raise NotFound(f"Book {book_id} does not exist.")
        query = select(func.count()).where(col(LockingLoan.book_id) == book_id)
        lent = int(await self.session.scalar(query) or 0)
        await asyncio.sleep(0.01)  # widen the window between the check and the write
        if lent >= book.copies:
            raise Conflict("No copy of this book is left.")
        loan = LockingLoan(book_id=book_id)
        self.session.add(loan)
        await self.session.flush()
        return loan


async def add_book(office: BackOffice, copies: int) -> int:
    async with office.session() as session:
        book = LockingBook(title="Dune", copies=copies)
        session.add(book)
        await session.flush()
        assert book.id is not None
        return book.id


async def lend_concurrently(office: BackOffice, book_id: int, tries: int) -> list[str]:
    async def one() -> str:
        try:
            async with office.session() as session:
                await LoanService(session, OPERATOR).lend(book_id)
        except Conflict:
            return "refused"
        return "lent"

    return list(await asyncio.gather(*(one() for _ in range(tries))))


async def loans(office: BackOffice, book_id: int) -> int:
    async with office.session() as session:
        query = select(func.count()).where(col(LockingLoan.book_id) == book_id)
        return int(await session.scalar(query) or 0)


async def test_ten_simultaneous_loans_of_the_last_copy_make_one(office: BackOffice) -> None:
    book_id = await add_book(office, copies=1)
    outcomes = await lend_concurrently(office, book_id, 10)
    assert sorted(outcomes) == ["lent"] + ["refused"] * 9
    assert await loans(office, book_id) == 1


async def test_with_three_copies_three_of_ten_are_lent(office: BackOffice) -> None:
    book_id = await add_book(office, copies=3)
    outcomes = await lend_concurrently(office, book_id, 10)
    assert outcomes.count("lent") == 3
    assert await loans(office, book_id) == 3


async def test_a_lock_reads_the_row_as_it_is_now_and_changes_nothing(office: BackOffice) -> None:
    book_id = await add_book(office, copies=2)
    async with office.session() as session:
        stale = await session.get(LockingBook, book_id)
        assert stale is not None
        async with office.session() as other:
            fresh = await other.get(LockingBook, book_id)
            assert fresh is not None
            fresh.copies = 5
        locked = await Service(session, OPERATOR).lock(LockingBook, book_id)
        assert locked is stale and locked.copies == 5
        assert await Service(session, OPERATOR).lock(LockingBook, book_id + 100) is None
        held = await Service(session, OPERATOR).lock_all(LockingBook, col(LockingBook.copies) > 1)
        assert [book.id for book in held] == [book_id]
        assert not session.dirty


class LockingLendService(ResourceService):
    """The same rule as a registered resource's hook, reached through the REST API."""

    async def before_create(self, values: dict[str, Any]) -> None:
        book = await self.lock(LockingBook, values["book_id"])
        if book is None:
            raise NotFound(f"Book {values['book_id']} does not exist.")
        query = select(func.count()).where(col(LockingLoan.book_id) == book.id)
        await asyncio.sleep(0.01)
        if int(await self.session.scalar(query) or 0) >= book.copies:
            raise Conflict("No copy of this book is left.")


class LockingLoanCreate(SQLModel):
    book_id: int


class LockingLoanUpdate(SQLModel):
    book_id: int | None = None


class LockingLoanPublic(SQLModel):
    id: int
    book_id: int


async def test_ten_simultaneous_api_loans_of_the_last_copy_make_one(settings: Settings) -> None:
    office = BackOffice(settings)
    office.register(
        LockingLoan,
        name="lendings",
        service=LockingLendService,
        create_schema=LockingLoanCreate,
        update_schema=LockingLoanUpdate,
        public_schema=LockingLoanPublic,
    )
    async with serving(office) as client:
        await make_user(office, "root", is_staff=True, is_superuser=True)
        headers = await bearer(client, "root")
        book_id = await add_book(office, copies=1)
        answers = await asyncio.gather(
            *(
                client.post("/api/lendings/", json={"book_id": book_id}, headers=headers)
                for _ in range(10)
            )
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 9
        assert await loans(office, book_id) == 1
