"""Deleting a row the way its foreign keys say, not the way the ORM guesses.

With a plain two-sided relationship (``Author.books`` / ``Book.author``) and no ORM cascade, the
ORM's ``session.delete(author)`` first sets every book's ``author_id`` to NULL, which a NOT NULL
foreign key refuses, so deleting the author fails although the database was told what to do
(``ON DELETE CASCADE``, ``SET NULL`` or ``RESTRICT``). When a relationship leaves its children to
the database like that, the row is deleted with one ``DELETE`` statement and the database
applies its rule; otherwise the ORM's own delete runs (its cascades, if the model asks for them).
"""

from typing import Any

from sqlalchemy import delete
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipDirection
from sqlmodel.ext.asyncio.session import AsyncSession


async def delete_row(session: AsyncSession, obj: Any) -> None:
    """Delete ``obj`` now (flushed). Rows the database removes or changes with it are dropped
    from the session, so nothing stale of them is written later in the unit of work."""
    mapper = sa_inspect(obj).mapper
    left_to_database = [
        relationship.mapper.class_
        for relationship in mapper.relationships
        if relationship.direction is RelationshipDirection.ONETOMANY
        and not relationship.passive_deletes
        and "delete" not in relationship.cascade
        and all(_left_to_database(column) for column in relationship.remote_side)
    ]
    if not left_to_database:
        await session.delete(obj)
        await session.flush()
        return
    await session.flush()  # anything pending is written first, in order
    keys = [getattr(obj, column.key) for column in mapper.primary_key]
    conditions = [column == key for column, key in zip(mapper.primary_key, keys, strict=True)]
    connection = await session.connection()
    await connection.execute(delete(mapper.local_table).where(*conditions))
    session.expunge(obj)
    for instance in list(session.identity_map.values()):
        if isinstance(instance, tuple(left_to_database)):
            session.expunge(instance)


def _left_to_database(column: Any) -> bool:
    """The database decides what happens to this foreign key's rows: the key says so
    (``ondelete``), or cannot be NULL, so the ORM's nulling could only fail."""
    return any(fk.ondelete for fk in column.foreign_keys) or not column.nullable
