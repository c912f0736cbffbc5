"""A host app's own Alembic history runs after backoffice's, in the same database."""

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings, migrate
from backoffice.migration_env import BUILTIN_TABLES

APP_MIGRATIONS = Path(__file__).resolve().parents[2] / "examples" / "invoicing" / "migrations"


def table_names(connection: AsyncConnection) -> object:
    return connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def test_migrate_creates_backoffice_tables_then_the_apps(settings: Settings) -> None:
    config = settings.model_copy(update={"app_migrations": [str(APP_MIGRATIONS)]})
    office = BackOffice(config)
    try:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
            for version_table in ("alembic_version", "alembic_version_invoicing"):
                await connection.exec_driver_sql(f"DROP TABLE IF EXISTS {version_table}")
        await migrate.upgrade(config)
        async with office.engine.connect() as connection:
            tables = await table_names(connection)  # type: ignore[misc]
        assert tables >= BUILTIN_TABLES
        assert {"customer", "invoice", "alembic_version", "alembic_version_invoicing"} <= tables
        assert not ({"customer", "invoice"} & BUILTIN_TABLES)
        # backoffice's own history sees no drift although the app's tables are present.
        await migrate.check(config)
    finally:
        async with office.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all)
            for version_table in ("alembic_version", "alembic_version_invoicing"):
                await connection.exec_driver_sql(f"DROP TABLE IF EXISTS {version_table}")
        await office.dispose()
