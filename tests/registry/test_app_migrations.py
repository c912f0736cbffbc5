"""A host app's own Alembic history runs after backoffice's, in the same database: the invoicing
example, and a host package of another domain written here and driven only through the command
line from another working directory."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, pool
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlmodel import SQLModel

from backoffice import BackOffice, Settings, migrate
from backoffice.histories import MigrationFailed, histories, targets
from backoffice.migration_env import BUILTIN_TABLES
from tests.conftest import TEST_SECRET_KEY
from tests.test_cli import Cli

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


# -- a host app of another domain, from an empty folder to base --------------------------------

LIBRARY_MODELS = """
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


class LoanState(StrEnum):
    open = "open"
    late = "late"


class LibAuthor(SQLModel, table=True):
    __tablename__ = "lib_author"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    bio: str | None = None


class LibBook(SQLModel, table=True):
    __tablename__ = "lib_book"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300, index=True)
    author_id: int = Field(foreign_key="lib_author.id", ondelete="CASCADE")


class LibLoan(SQLModel, table=True):
    __tablename__ = "lib_loan"
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="lib_book.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    due: datetime
    state: LoanState = LoanState.open
"""
LIBRARY_TABLES = ("lib_loan", "lib_book", "lib_author")  # in the order they can be dropped
LIBRARY_VERSIONS = "alembic_version_library"


def hand_revision(revision: str, down_revision: str, upgrade: str = "pass") -> str:
    return f'''"""written by hand"""

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    pass
'''


async def drop_library_and_backoffice(database_url: str) -> None:
    """The host's tables first (they refer to ``user``), then backoffice's."""
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            for table in [*LIBRARY_TABLES, LIBRARY_VERSIONS, "alembic_version"]:
                await connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            if connection.dialect.name == "postgresql":  # the loans' enum is a type there
                await connection.exec_driver_sql("DROP TYPE IF EXISTS loanstate")
            await connection.run_sync(SQLModel.metadata.drop_all)
    finally:
        await engine.dispose()


@pytest.fixture
async def library(settings: Settings, tmp_path: Path) -> AsyncIterator[Path]:
    """A host package of its own (``src/library``), never imported by this process: only the
    command line, run from another directory, imports it (SQLModel's metadata stays clean)."""
    package = tmp_path / "src" / "library"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "models.py").write_text(LIBRARY_MODELS, encoding="utf-8")
    await drop_library_and_backoffice(settings.database_url)
    yield package
    await drop_library_and_backoffice(settings.database_url)


@pytest.fixture
def host_cli(settings: Settings, library: Path, tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env.pop("PYTHONPATH", None)
    env |= {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),  # backoffice only, not library
        "BACKOFFICE_DATABASE_URL": settings.database_url,
        "BACKOFFICE_SECRET_KEY": TEST_SECRET_KEY,
        "BACKOFFICE_APP_MIGRATIONS": str(library / "migrations"),
    }
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return Cli(env=env, cwd=elsewhere)


async def tables_in(settings: Settings) -> set[str]:
    office = BackOffice(settings)
    try:
        async with office.engine.connect() as connection:
            return await table_names(connection)  # type: ignore[no-any-return, misc]
    finally:
        await office.dispose()


async def test_a_host_app_is_started_generated_migrated_and_undone_from_anywhere(
    host_cli: Cli, library: Path, settings: Settings
) -> None:
    folder = library / "migrations"
    started = host_cli.ok("startmigrations", str(folder), "--models", "library.models")
    assert str(folder) in started.stdout
    ini = (folder / "alembic.ini").read_text(encoding="utf-8")
    assert "prepend_sys_path = %(here)s/../.." in ini
    env_py = (folder / "env.py").read_text(encoding="utf-8")
    assert 'tables_of("library.models")' in env_py
    assert 'version_table="alembic_version_library"' in env_py
    assert "import sqlmodel" in (folder / "script.py.mako").read_text(encoding="utf-8")
    assert (folder / "versions").is_dir()
    refused = host_cli.refused("startmigrations", str(folder), "--models", "library.models")
    assert "not overwriting" in refused
    assert (folder / "env.py").read_text(encoding="utf-8") == env_py

    made = host_cli.ok("makemigrations", "-m", "first tables", "--rev-id", "lib0001")
    revision = folder / "versions" / "lib0001_first_tables.py"
    assert f"Wrote revision lib0001 of app 'library' ({folder}): {revision}" in made.stdout
    source = revision.read_text(encoding="utf-8")
    assert "sqlmodel.sql" not in source  # rendered as plain sa types: no NameError to come
    assert "sa.String(length=300)" in source
    assert await tables_in(settings) == set()  # makemigrations upgrades nothing

    done = host_cli.ok("migrate")
    head = migrate.head_revisions()[0]
    assert f"  backoffice: none -> {head}\n" in done.stdout
    assert f"  app 'library' ({folder}): none -> lib0001\n" in done.stdout
    assert {*LIBRARY_TABLES, *BUILTIN_TABLES, LIBRARY_VERSIONS} <= await tables_in(settings)
    assert "No changes" in host_cli.ok("makemigrations", "-m", "nothing").stdout

    # A second revision, autogenerated from a changed model, moves only its own history.
    models = library / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8") + "    returned: datetime | None = None\n",
        encoding="utf-8",
    )
    host_cli.ok("makemigrations", "-m", "loan returned", "--rev-id", "lib0002")
    again = host_cli.ok("migrate")
    assert f"  backoffice: {head} -> {head} (nothing to do)\n" in again.stdout
    assert f"  app 'library' ({folder}): lib0001 -> lib0002\n" in again.stdout

    down = host_cli.ok("migrate", "--downgrade", "lib0001", "--yes")
    assert down.stdout.splitlines()[1:] == [f"  app 'library' ({folder}): lib0002 -> lib0001"]
    up = host_cli.ok("migrate", "--revision", "lib0002")
    assert up.stdout.splitlines()[1:] == [f"  app 'library' ({folder}): lib0001 -> lib0002"]

    # Base: the host's history first, so its foreign keys to ``user`` go before ``user`` does.
    based = host_cli.ok("migrate", "--downgrade", "base", "--yes")
    assert based.stdout.splitlines()[1:] == [
        f"  app 'library' ({folder}): lib0002 -> none",
        f"  backoffice: {head} -> none",
    ]
    assert not {*LIBRARY_TABLES, *BUILTIN_TABLES} & await tables_in(settings)
    # ... and all the way up again: the downgrade dropped the enum's type with its table.
    assert "none -> lib0002" in host_cli.ok("migrate").stdout
    assert "sa.Enum(name='loanstate').drop(op.get_bind(), checkfirst=True)" in source


async def test_unknown_and_failing_revisions_are_one_line_naming_them(
    host_cli: Cli, library: Path, settings: Settings
) -> None:
    folder = library / "migrations"
    host_cli.ok("startmigrations", str(folder), "--models", "library.models")
    host_cli.ok("makemigrations", "-m", "first tables", "--rev-id", "lib0001")
    versions = folder / "versions"
    (versions / "lib0002_empty.py").write_text(hand_revision("lib0002", "lib0001"), "utf-8")
    fails = hand_revision("lib0003", "lib0002", 'raise RuntimeError("the shelves are not ready")')
    (versions / "lib0003_fails.py").write_text(fails, "utf-8")

    # Plain alembic finds the package too, through the ini's prepend_sys_path.
    alembic = [sys.executable, "-m", "alembic", "-c", str(folder / "alembic.ini"), "current"]
    done = subprocess.run(  # noqa: ASYNC221  (a short child process; the test just waits)
        alembic, cwd=host_cli.cwd, env=host_cli.env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr

    unknown = host_cli.refused("migrate", "--revision", "nosuch")
    assert unknown.strip().splitlines() == [
        f"backoffice: error: unknown revision 'nosuch' (searched: backoffice; "
        f"app 'library' ({folder}))"
    ]

    failed = host_cli.run("migrate")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"backoffice: error: app 'library' ({folder}): revision lib0003 failed (RuntimeError: "
        "the shelves are not ready); this history stays at lib0002"
    ]
    head = migrate.head_revisions()[0]
    assert f"  backoffice: none -> {head}" in failed.stdout  # what moved before it is reported
    assert await migrate.current_revisions(settings) == (head,)


def test_a_host_package_that_cannot_be_imported_is_one_line(
    host_cli: Cli, library: Path, tmp_path: Path
) -> None:
    folder = library / "migrations"
    host_cli.ok("startmigrations", str(folder), "--models", "library.models")
    # The same folder away from its package, without the alembic.ini that says where it is.
    apart = tmp_path / "apart" / "migrations"
    apart.mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        (apart / name).write_text((folder / name).read_text(encoding="utf-8"), encoding="utf-8")
    (apart / "versions").mkdir()

    stderr = host_cli.refused("migrate", BACKOFFICE_APP_MIGRATIONS=str(apart))
    assert stderr.strip().splitlines() == [
        f"backoffice: error: app 'apart' ({apart}): {apart / 'env.py'} could not import "
        f"'library'; make it importable: set prepend_sys_path in {apart / 'alembic.ini'}, run "
        "from the directory that holds the package, or install it"
    ]


def test_a_revision_moves_the_history_that_has_it() -> None:
    """``head`` is every history, backoffice's first; ``base`` every history, the hosts' first;
    anything else belongs to one history, found by its id or named as ``HISTORY@REVISION``."""
    settings = Settings(_env_file=None, app_migrations=[str(APP_MIGRATIONS)])  # type: ignore[call-arg]
    found = histories(settings)
    backoffice, invoicing = found
    assert (backoffice.label, invoicing.name) == ("backoffice", "invoicing")

    assert targets(found, "head", upgrade=True) == [(backoffice, "head"), (invoicing, "head")]
    assert targets(found, "base", upgrade=False) == [(invoicing, "base"), (backoffice, "base")]
    assert targets(found, "inv0001", upgrade=True) == [(invoicing, "inv0001")]
    assert targets(found, "0003", upgrade=False) == [(backoffice, "0003")]
    assert targets(found, "invoicing@-1", upgrade=False) == [(invoicing, "-1")]
    assert targets(found[:1], "-1", upgrade=False) == [(backoffice, "-1")]
    with pytest.raises(
        MigrationFailed, match=r"as HISTORY@-1 \(histories: backoffice, invoicing\)"
    ):
        targets(found, "-1", upgrade=False)
    with pytest.raises(MigrationFailed, match=r"searched: backoffice; app 'invoicing'"):
        targets(found, "nosuch", upgrade=True)
