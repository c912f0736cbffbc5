"""The async engine and sessions.

Every door opens one session per unit of work and commits once (see ``session_scope``); services
only flush, so a change and what is written beside it land together or not at all.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, Integer, Table, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import DomainError

# Stable constraint names, so Alembic can alter and drop them (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

metadata = SQLModel.metadata


@event.listens_for(Table, "before_create")
def _never_reuse_ids_on_sqlite(table: Table, connection: Connection | None, **_: Any) -> None:
    """On SQLite, a table keyed by one integer gets ``AUTOINCREMENT``.

    Without it SQLite hands out the largest id plus one, so deleting the newest row gives its id
    to the next one, and that object inherits the deleted one's History and audit entries. This
    applies to every table created in the process (backoffice's, a host's, ``create_all`` in
    tests and Alembic's ``create_table``, batch-mode copies included); PostgreSQL's sequences
    never go back anyway.
    """
    if connection is None or connection.dialect.name != "sqlite":
        return  # (Alembic's offline mode has no connection)
    key = list(table.primary_key.columns)
    if len(key) == 1 and isinstance(key[0].type, Integer) and not key[0].foreign_keys:
        table.dialect_options["sqlite"]["autoincrement"] = True


SessionMaker = async_sessionmaker[AsyncSession]

PING_AFTER_IDLE_SECONDS = 1.0
"""A pooled connection idle for longer than this is checked before it is handed out."""


def create_engine(
    database_url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """An async engine with the settings each backend needs to behave under concurrency."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # Opening a file costs little, and an in-memory database has a pool without sizes.
        kwargs.pop("pool_size", None)
        kwargs.pop("max_overflow", None)
        connect_args = kwargs.pop("connect_args", {})
        # Wait for a writer instead of failing with "database is locked".
        connect_args.setdefault("timeout", 30)
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    engine = create_async_engine(url, **kwargs)
    _ping_idle_connections(engine.sync_engine, ping_after_idle)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """``pool_pre_ping``, but only for a connection that sat idle in the pool.

    A server restart or a dropped network path shows up as a dead pooled connection: checking
    one before use (a round trip; three outside autocommit) hands out a fresh one instead of
    failing the request. Under load a connection goes back and forth within milliseconds and
    that check would be the largest cost of a small request, while a connection that died
    mid-traffic fails its request anyway and SQLAlchemy then replaces the whole pool. So only a
    connection idle for over ``idle_seconds`` (0: every one) is checked.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def remember_when_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # ``info`` lives as long as the DBAPI connection: a new one has no mark and no need.
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and opens another (or raises if it cannot).
            raise DisconnectionError("a pooled connection failed its check") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers proceed while one request writes; in-memory databases ignore it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    # expire_on_commit=False: response models are built from rows after the commit, and an
    # expired attribute would need I/O outside the session.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for work that only reads (the API's GET and HEAD).

    Each statement is its own transaction, as in Django's default mode: no ``BEGIN`` and
    ``COMMIT`` round trips around a lookup. Work whose statements must see one snapshot, or
    must write together, takes ``engine`` itself. SQLite starts no transaction for a read
    anyway, so there this is ``engine``.
    """
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def session_scope(session_maker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit if the block succeeds, roll back if it raises (unless the
    domain error says its changes must be kept)."""
    async with session_maker() as session:
        try:
            yield session
        except DomainError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
