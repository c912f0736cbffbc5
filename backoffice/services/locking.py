"""Holding rows for the rest of a unit of work, the same way on PostgreSQL and SQLite.

An invariant that reads before it writes ("a book with one copy is lent once", "one superuser
remains") is only true if no concurrent unit of work can read the same rows in between. On
PostgreSQL, ``SELECT … FOR UPDATE`` makes the second one wait for the first to commit. SQLite
ignores ``FOR UPDATE``, and a transaction that has only read does not hold the database's write
lock, so two of them can both read "one copy left" and both write. There the lock is the write
lock itself: a write that changes nothing takes it at once, and whoever comes next waits (the
engine's busy timeout) until this unit of work ends, then reads what it wrote.

Lock before reading what the rule depends on, in the same order everywhere (by table, then key),
so two units of work never wait for each other.
"""

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.sql.schema import Table
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")


async def lock_row(session: AsyncSession, model: type[T], pk: Any) -> T | None:
    """The row ``pk`` of ``model``, as it is now, held until the unit of work ends (None if
    there is no such row; on SQLite the write lock is held all the same)."""
    if _is_sqlite(session):
        await _take_sqlite_write_lock(session, _table(model))
        # populate_existing: a copy loaded before the lock may be stale; read it again.
        return await session.get(model, pk, populate_existing=True)
    query = select(model).where(_key(model) == pk).with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def lock_rows(
    session: AsyncSession, model: type[T], *conditions: ColumnElement[bool]
) -> list[T]:
    """The rows of ``model`` matching ``conditions``, held until the unit of work ends, in key
    order (so that two lockers of overlapping sets queue instead of deadlocking)."""
    query = select(model).where(*conditions).order_by(_key(model))
    if _is_sqlite(session):
        await _take_sqlite_write_lock(session, _table(model))
    else:
        query = query.with_for_update()
    return list((await session.exec(query.execution_options(populate_existing=True))).all())


async def begin_writing(session: AsyncSession, model: type[Any]) -> None:
    """Open the unit of work's write transaction now (on SQLite; elsewhere it is open).

    SQLite's Python driver begins a transaction only before a write: a ``SAVEPOINT`` sent
    first opens a transaction of its own, which its ``RELEASE`` commits, so a later rollback
    of the unit of work would not undo it. Call this before savepoints (``services.batch``)."""
    if _is_sqlite(session):
        await _take_sqlite_write_lock(session, _table(model))


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def _take_sqlite_write_lock(session: AsyncSession, table: Table) -> None:
    # An UPDATE that matches nothing still opens a write transaction: SQLite takes the lock
    # when the statement starts. Raw SQL, so no ORM ``onupdate`` (updated_at) is touched.
    preparer = session.get_bind().dialect.identifier_preparer
    column = preparer.quote(next(iter(table.primary_key.columns)).name)
    statement = f"UPDATE {preparer.format_table(table)} SET {column} = {column} WHERE 1 = 0"  # noqa: S608 (quoted identifiers)
    connection = await session.connection()
    await connection.execute(text(statement))


def _table(model: type[Any]) -> Table:
    table = sa_inspect(model).local_table
    assert isinstance(table, Table)
    return table


def _key(model: type[Any]) -> Any:
    (column,) = sa_inspect(model).primary_key
    return column
