"""Alembic environment for backoffice: async engine, SQLite-safe batch mode, SQLModel metadata.

Run by ``alembic …`` from the repository root (with alembic.ini) and by ``backoffice migrate``
(``backoffice.migrate`` builds the config in code). The URL is the config's ``sqlalchemy.url``
when the caller set one, otherwise the application's own ``Settings().database_url``.
"""

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import backoffice.models  # noqa: F401  (registers every table and sets the naming convention)
from backoffice.config import Settings
from backoffice.models.common import UTCDateTime

config = context.config

if config.config_file_name is not None:
    # Keep the application's loggers alive: fileConfig disables existing loggers by default.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render app-specific column types as plain SQLAlchemy types.

    Revisions are frozen history: importing ``backoffice.models.common`` from them would tie old
    revisions to today's code. UTCDateTime only converts values in Python; in the database it is
    ``DateTime(timezone=True)``.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        # Alembic compares a TypeDecorator (UTCDateTime) by its impl, DateTime(timezone=True).
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """``alembic upgrade --sql``: print the SQL instead of running it."""
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    # Batch mode rebuilds a table by copying it and dropping the original. With foreign keys
    # enforced, dropping ``user`` would cascade and delete every post, so keep them off here
    # (SQLite's default; the application's engine turns them on for its own connections).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


async def run_async_migrations() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys_off)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # A caller that already holds a (sync-facing) connection, e.g. inside ``run_sync``.
        do_run_migrations(connection)
        return
    # Its own event loop: ``backoffice.migrate`` calls Alembic in a worker thread for this reason.
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
