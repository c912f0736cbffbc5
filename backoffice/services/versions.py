"""Record versions: a counter on each row, so a save made over a newer one is refused, not
silently written over it.

Every versioned table has an integer ``version`` column, 1 when the row is created and one more
at each change made through a service. A writer that names the version it read (the API's
``If-Match``, the admin form's hidden field, ``version=`` in host code) gets its change only if
the row is still at that version: ``claim`` takes the next version with one conditional
``UPDATE … SET version = version + 1 WHERE id = ? AND version = ?``. On PostgreSQL a second
writer's UPDATE waits for the first one's row lock and then finds the version moved; on SQLite
the UPDATE takes the database's write lock when it starts (nothing before it in the unit of work
has written), so it too reads the committed version. Either way one writer wins and the other is
told ``Stale`` with the version now current.

backoffice's own tables declare the column; a host's registered tables get it added when they
are registered (``add_version_column``) unless their model says ``__backoffice_versioned__ =
False``. Bookkeeping writes (a sign-in's ``last_login``) do not take a version: only changes a
person or a program asked for do.
"""

from typing import Any

from sqlalchemy import Column, Integer, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Stale
from backoffice.services.locking import lock_row

VERSION = "version"
"""The column's name."""
OPT_OUT = "__backoffice_versioned__"
"""A model class attribute: set it to False to keep the table unversioned (last save wins)."""


def wants_versions(model: type[Any]) -> bool:
    """Does ``model`` opt in (the default)? Only tables keyed by one column can be versioned:
    a link table (two keys) is left alone."""
    mapper = sa_inspect(model, raiseerr=False)
    if mapper is None or getattr(model, OPT_OUT, True) is False:
        return False  # not a table (registration says so), or opted out
    return len(mapper.primary_key) == 1


def is_versioned(model: type[Any]) -> bool:
    """Has ``model`` a ``version`` column mapped?"""
    mapper = sa_inspect(model, raiseerr=False)
    return mapper is not None and VERSION in mapper.columns


def add_version_column(model: type[Any]) -> None:
    """Give ``model``'s table its ``version`` column (once), as backoffice's own tables have
    it: registration calls this, and ``migration_env.tables_of`` too, so a host's
    ``makemigrations`` writes the column into its revision."""
    if is_versioned(model) or not wants_versions(model):
        return
    mapper = sa_inspect(model)
    column = Column(VERSION, Integer, nullable=False, default=1, server_default=text("1"))
    mapper.local_table.append_column(column)
    mapper.add_property(VERSION, column)


def version_of(obj: Any) -> int | None:
    """The version of a row as it was read, or of a view of one that carries it (a group's
    public form); None for an unversioned table."""
    mapped = sa_inspect(type(obj), raiseerr=False) is not None
    if mapped and not is_versioned(type(obj)):
        return None
    value = getattr(obj, VERSION, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def claim(session: AsyncSession, obj: Any, expected: int | None, label: str) -> None:
    """Take the next version of ``obj``'s row, for a change about to be written in this unit of
    work; with ``expected``, only if the row is still at that version, else ``Stale`` (nothing
    written). Without it the change is made whatever the version (last save wins), and the
    version still moves on so that others' stale saves are caught."""
    model = type(obj)
    if not is_versioned(model):
        return
    mapper = sa_inspect(model)
    table = mapper.local_table
    key = mapper.primary_key[0]
    pk = mapper.primary_key_from_instance(obj)[0]
    column = table.c[VERSION]
    statement = update(table).where(key == pk).values({column: column + 1}).returning(column)
    if expected is not None:
        statement = statement.where(column == expected)
    taken = (await session.exec(statement)).scalar_one_or_none()
    if taken is None:
        current = await session.scalar(select(column).where(key == pk))
        raise Stale(
            f"{label} was changed by someone else since version {expected} was read: it is "
            f"now at version {current}. Read it again and re-apply your change.",
            current_version=int(current or 0),
        )
    set_committed_value(obj, VERSION, int(taken))


async def hold_at(
    session: AsyncSession, model: type[Any], pk: Any, expected: int, label: str
) -> None:
    """Hold row ``pk`` for the rest of the unit of work (``services.locking``) and refuse with
    ``Stale`` unless it is still at version ``expected``: for a change whose exact effect was
    shown first (a bulk action's preview), made only to the row as it was shown. A row that is
    gone is left to the change itself to report."""
    obj = await lock_row(session, model, pk)
    current = None if obj is None else version_of(obj)
    if current is not None and current != expected:
        raise Stale(
            f"{label} was changed by someone else since version {expected} was shown: it is "
            f"now at version {current}. Nothing was done to it.",
            current_version=current,
        )


def check_current(obj: Any, expected: int | None, label: str) -> None:
    """For a save that changes nothing: refused all the same if the caller read an older
    version (what they saw is not what is there)."""
    current = version_of(obj)
    if expected is not None and current is not None and current != expected:
        raise Stale(
            f"{label} was changed by someone else since version {expected} was read: it is "
            f"now at version {current}. Read it again and re-apply your change.",
            current_version=current,
        )
