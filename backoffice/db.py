"""The async engine and sessions.

Every door opens one session per unit of work and commits once (see ``session_scope``); services
only flush, so a change and what is written beside it land together or not at all.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
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

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs to behave under concurrency."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        # Wait for a writer instead of failing with "database is locked".
        connect_args.setdefault("timeout", 30)
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


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
