"""What an Alembic ``env.py`` does, for backoffice's own revisions and for a host app's.

backoffice's ``migrations/env.py`` and a host's (see ``examples/invoicing/migrations/env.py``)
each call ``run_migrations`` with the tables they own and their own version table, so the two
histories live side by side in one database without either one seeing the other's tables as
drift.
"""

import asyncio
from collections.abc import Collection
from typing import Any, Literal

from alembic.autogenerate.api import AutogenContext
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import backoffice.models  # noqa: F401  (registers every table and sets the naming convention)
from backoffice.config import Settings
from backoffice.models.common import UTCDateTime

BUILTIN_TABLES = frozenset(
    str(mapper.local_table.name)  # type: ignore[attr-defined]
    for mapper in SQLModel._sa_registry.mappers
    if mapper.class_.__module__.startswith("backoffice.")
)
"""The tables backoffice's own revisions create; a host's tables are its own revisions' business."""

DATABASE_ONLY_INDEXES = frozenset(
    {"ix_user_email_trgm", "ix_user_username_trgm", "ix_user_full_name_trgm"}
)
"""Indexes a revision creates that the models do not declare, left out of autogenerate's
comparison: revision 0005's trigram (``pg_trgm`` GIN) indexes for the user search exist on
PostgreSQL only and use an operator class (one on an expression), which a model's ``index=True``
cannot say; compared, they would show as drift ("remove_index") on every ``alembic check``."""


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render app-specific column types as plain SQLAlchemy types.

    Revisions are frozen history: importing ``backoffice.models.common`` from them would tie old
    revisions to today's code. UTCDateTime only converts values in Python; in the database it is
    ``DateTime(timezone=True)``.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(
    context: EnvironmentContext,
    *,
    tables: Collection[str] = BUILTIN_TABLES,
    version_table: str = "alembic_version",
) -> None:
    """Run (or autogenerate) the revisions of ``context`` for the tables named ``tables``."""
    config = context.config

    def include_object(obj: Any, name: str | None, type_: str, *args: Any) -> bool:
        if type_ == "index" and name in DATABASE_ONLY_INDEXES:
            return False
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in tables

    def configure(**kwargs: Any) -> None:
        context.configure(
            target_metadata=SQLModel.metadata,
            include_object=include_object,
            version_table=version_table,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=True,
            # Alembic compares a TypeDecorator (UTCDateTime) by its impl, DateTime(timezone=True).
            compare_type=True,
            render_item=render_item,
            **kwargs,
        )

    def database_url() -> str:
        return config.get_main_option("sqlalchemy.url") or Settings().database_url

    def do_run(connection: Connection) -> None:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(database_url(), poolclass=pool.NullPool)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys_off)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        # A caller that already holds a (sync-facing) connection, e.g. inside ``run_sync``.
        do_run(connection)
        return
    # Its own event loop: ``backoffice.migrate`` calls Alembic in a worker thread for this reason.
    asyncio.run(run_async())


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    # Batch mode rebuilds a table by copying it and dropping the original. With foreign keys
    # enforced, dropping ``user`` would cascade and delete every post, so keep them off here
    # (SQLite's default; the application's engine turns them on for its own connections).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
