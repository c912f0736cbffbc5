"""What an Alembic ``env.py`` does, for backoffice's own revisions and for a host app's.

backoffice's ``migrations/env.py`` and a host's (see ``examples/invoicing/migrations/env.py``)
each call ``run_migrations`` with the tables they own and their own version table, so the two
histories live side by side in one database without either one seeing the other's tables as
drift.
"""

import asyncio
import importlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import DropTableOp, MigrateOperation, MigrationScript
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Enum, event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import backoffice.models  # noqa: F401  (registers every table and sets the naming convention)
from backoffice.config import Settings
from backoffice.services.trash import add_trash_columns
from backoffice.services.versions import add_version_column

DATABASE_URL = "backoffice.database_url"
"""``config.attributes`` key of the URL ``backoffice.migrate`` passes to an env.py."""
RECORD = "backoffice.record"
"""``config.attributes`` key of the ``RunRecord`` that ``run_migrations`` fills in."""
MAKING_REVISION = "backoffice.making_revision"
"""``config.attributes`` key set by ``backoffice makemigrations``: the database is left as it is
(not even a version table is created), and a revision without changes is not written."""
PLACEHOLDER_URL = "driver://user:pass@localhost/dbname"
"""What ``alembic init`` writes as ``sqlalchemy.url``."""

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


class MigrationEnvError(RuntimeError):
    """An env.py that cannot run as configured (the message says what to change)."""


@dataclass
class RunRecord:
    """What one run of an env.py did, for ``backoffice migrate`` to report."""

    version_table: str | None = None
    before: tuple[str, ...] | None = None
    """The revisions the database was at when the run started."""
    heads: tuple[str, ...] | None = None
    """The revisions it is at now: updated after each revision, each in its own transaction."""
    applied: list[str] = field(default_factory=list)


def tables_of(module: str) -> frozenset[str]:
    """The tables of the SQLModel classes defined in ``module`` (a module or a package).

    A host's env.py passes ``tables_of("myapp.models")`` to ``run_migrations``: its history then
    covers exactly the tables its models declare. Each table keyed by one column gets its
    ``version`` column here, as registering it does (``services.versions``), so
    ``makemigrations`` writes it; a model with ``__backoffice_versioned__ = False`` does not.
    A model with ``__backoffice_trash__ = True`` gets its trash columns the same way.
    """
    importlib.import_module(module)
    mappers = [
        mapper
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_.__module__ == module or mapper.class_.__module__.startswith(module + ".")
    ]
    for mapper in mappers:
        add_version_column(mapper.class_)
        add_trash_columns(mapper.class_)
    names = frozenset(str(mapper.local_table.name) for mapper in mappers)  # type: ignore[attr-defined]
    if not names:
        raise MigrationEnvError(f"{module} defines no SQLModel table (a class with table=True)")
    return names


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render SQLModel's and backoffice's column types as the plain SQLAlchemy types they store.

    Revisions are frozen history: importing ``sqlmodel`` or ``backoffice.models.common`` from
    them would tie old revisions to today's code, and a revision rendered as
    ``sqlmodel.sql.sqltypes.AutoString()`` fails with a NameError under a template without
    ``import sqlmodel`` (alembic's own). These types only convert values in Python: AutoString
    is ``String(length)``, a UTCDateTime is ``DateTime(timezone=True)``.
    """
    ours = type(obj).__module__.startswith(("sqlmodel.", "backoffice."))
    if type_ == "type" and isinstance(obj, TypeDecorator) and ours:
        return f"sa.{obj.impl_instance!r}"
    return False


class DropEnumTypeOp(MigrateOperation):
    """Drop a named enum type (PostgreSQL's ``CREATE TYPE``; nothing where enums are not types)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def reverse(self) -> MigrateOperation:
        raise NotImplementedError("an enum type is created again with its table")


@renderers.dispatch_for(DropEnumTypeOp)
def _render_drop_enum_type(autogen_context: AutogenContext, op: DropEnumTypeOp) -> str:
    return f"sa.Enum(name={op.name!r}).drop(op.get_bind(), checkfirst=True)"


def drop_enum_types_with_their_tables(script: MigrationScript) -> None:
    """Autogenerate drops a table but not the enum type its ``create_table`` made on
    PostgreSQL, so going down to base and up again fails ("type … already exists"): after the
    downgrade's table drops, drop each enum type no remaining table uses."""
    downgrade = script.downgrade_ops
    if downgrade is None:
        return
    dropped = {op.table_name for op in downgrade.ops if isinstance(op, DropTableOp)}
    if not dropped:
        return
    users: dict[str, set[str]] = {}
    for table in SQLModel.metadata.tables.values():
        for column in table.columns:
            kind = column.type
            while isinstance(kind, TypeDecorator):
                kind = kind.impl_instance
            if isinstance(kind, Enum) and kind.name:
                users.setdefault(kind.name, set()).add(table.name)
    for name in sorted(n for n, tables in users.items() if tables & dropped and tables <= dropped):
        downgrade.ops.append(DropEnumTypeOp(name))


def run_migrations(
    context: EnvironmentContext,
    *,
    tables: Collection[str] = BUILTIN_TABLES,
    version_table: str = "alembic_version",
) -> None:
    """Run (or autogenerate) the revisions of ``context`` for the tables named ``tables``.

    The database is the one ``backoffice.migrate`` passes, otherwise the application's
    (``BACKOFFICE_DATABASE_URL``, a .env file, or the default). A ``sqlalchemy.url`` in an
    alembic.ini is never used: alembic init's placeholder is ignored, and any other URL that is
    not the application's is refused rather than silently set aside. Each revision runs in its
    own transaction, so a failure leaves the database at the last revision that succeeded.
    """
    config = context.config
    record = config.attributes.get(RECORD)

    def include_object(obj: Any, name: str | None, type_: str, *args: Any) -> bool:
        if type_ == "index" and name in DATABASE_ONLY_INDEXES:
            return False
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in tables

    def applied(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        if isinstance(record, RunRecord):
            record.applied.append(step.up_revision_id or "base")
            record.heads = tuple(sorted(heads))

    def skip_empty(context: Any, revision: Any, directives: list[MigrationScript]) -> None:
        if config.attributes.get(MAKING_REVISION) and all(
            script.upgrade_ops is None or script.upgrade_ops.is_empty() for script in directives
        ):
            directives[:] = []
        for script in directives:
            drop_enum_types_with_their_tables(script)

    def configure(**kwargs: Any) -> None:
        if config.attributes.get(MAKING_REVISION):
            kwargs["dont_mutate"] = True
        context.configure(
            target_metadata=SQLModel.metadata,
            include_object=include_object,
            version_table=version_table,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=True,
            # Alembic compares a TypeDecorator (UTCDateTime) by its impl, DateTime(timezone=True).
            compare_type=True,
            render_item=render_item,
            transaction_per_migration=True,
            on_version_apply=applied,
            process_revision_directives=skip_empty,
            **kwargs,
        )

    def database_url() -> str:
        passed = config.attributes.get(DATABASE_URL)
        if passed:
            return str(passed)
        url = Settings().database_url
        written = config.get_main_option("sqlalchemy.url")
        if written and written != PLACEHOLDER_URL and written != url:
            raise MigrationEnvError(
                f"sqlalchemy.url in {config.config_file_name or 'the Alembic config'} is not the "
                "application's database: remove it (the URL comes from BACKOFFICE_DATABASE_URL)"
            )
        return url

    def do_run(connection: Connection) -> None:
        configure(connection=connection)
        if isinstance(record, RunRecord):
            record.version_table = version_table
            heads = context.get_context().get_current_heads()
            record.before = record.heads = tuple(sorted(heads))
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
