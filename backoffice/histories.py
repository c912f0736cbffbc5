"""The Alembic histories of one database: backoffice's own, then each host app's.

A host app keeps its migrations in a folder of its own (``BACKOFFICE_APP_MIGRATIONS``), with its
own env.py and version table. ``backoffice migrate`` runs it from any working directory: the
folder's package is made importable (``prepend_sys_path`` of the folder's alembic.ini, else the
directory above the folder's top-most package), and a revision id is looked up in every history.
"""

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util.exc import CommandError

from backoffice.config import Settings
from backoffice.migration_env import DATABASE_URL

PACKAGE_DIR = Path(__file__).resolve().parent
PLAIN_REVISION = re.compile(r"(?!(?:head|heads|base)$)\w+")
"""A revision id (or its start), as opposed to alembic's symbols and relative forms."""
IGNORED_INI_OPTIONS = frozenset({"script_location", "sqlalchemy.url", "prepend_sys_path"})


class MigrationsNotFound(RuntimeError):
    """Neither the wheel's bundled scripts nor a source checkout's ``migrations/`` exist."""


class MigrationFailed(CommandError):
    """A history could not be migrated: one line naming it (and the revision), and the histories
    moved before it."""

    def __init__(self, message: str, moved: "Sequence[Moved]") -> None:
        super().__init__(message)
        self.moved = list(moved)


def migrations_dir() -> Path:
    """The Alembic script directory shipped with this installation of backoffice."""
    candidates = (
        PACKAGE_DIR / "_bundled" / "migrations",  # an installed wheel (pyproject force-include)
        PACKAGE_DIR.parent / "migrations",  # a source or editable checkout
    )
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise MigrationsNotFound(f"backoffice's migration scripts are missing (looked in {searched})")


def alembic_config(database_url: str, *, stdout: TextIO | None = None) -> Config:
    """A complete Alembic config of backoffice's own history; no alembic.ini is read."""
    config = Config(stdout=stdout) if stdout is not None else Config()
    config.set_main_option("script_location", _escape(str(migrations_dir())))
    config.set_main_option("path_separator", "os")
    config.attributes[DATABASE_URL] = database_url
    return config


@dataclass(frozen=True)
class History:
    """One Alembic folder: its scripts, and what makes its env.py importable."""

    name: str
    location: Path
    builtin: bool = False
    ini_options: dict[str, str] = field(default_factory=dict, compare=False)
    import_paths: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        return "backoffice" if self.builtin else f"app {self.name!r} ({self.location})"

    def config(self, database_url: str, *, stdout: TextIO | None = None) -> Config:
        if self.builtin:
            return alembic_config(database_url, stdout=stdout)
        config = Config(stdout=stdout) if stdout is not None else Config()
        config.set_main_option("path_separator", "os")
        for key, value in self.ini_options.items():
            if key not in IGNORED_INI_OPTIONS:
                config.set_main_option(key, _escape(value))
        config.set_main_option("script_location", _escape(str(self.location)))
        config.attributes[DATABASE_URL] = database_url
        return config

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config("sqlite://"))

    def has_revision(self, revision: str) -> bool:
        try:
            self.script().revision_map.get_revision(revision)
        except ResolutionError as exc:
            return "No such revision" not in str(exc)
        except CommandError as exc:
            raise MigrationFailed(f"{self.label}: {exc}", []) from exc
        return True

    @contextmanager
    def importable(self) -> Iterator[None]:
        """``import_paths`` on ``sys.path`` while the history's env.py runs."""
        added = [str(path) for path in self.import_paths if str(path) not in sys.path]
        sys.path[:0] = added
        try:
            yield
        finally:
            for path in added:
                if path in sys.path:
                    sys.path.remove(path)


@dataclass(frozen=True)
class Moved:
    """One history's revisions before and after a run (None: its env.py did not say)."""

    history: History
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None


def histories(settings: Settings) -> list[History]:
    """backoffice's history, then each folder of ``settings.app_migrations``, in order."""
    found = [History("backoffice", migrations_dir(), builtin=True)]
    for entry in settings.app_migrations:
        found.append(app_history(Path(entry)))
    return found


def app_history(folder: Path) -> History:
    location = folder.expanduser().resolve()
    if not (location / "env.py").is_file():
        raise MigrationFailed(
            f"app migrations {folder}: no env.py there (BACKOFFICE_APP_MIGRATIONS lists Alembic "
            "folders; start one with `backoffice startmigrations`)",
            [],
        )
    ini = governing_ini(location)
    options: dict[str, str] = {}
    paths: list[Path] = []
    name = location.parent.name if location.name in ("migrations", "alembic") else location.name
    if ini is not None:
        config = Config(file_=str(ini))
        options = dict(config.get_section(config.config_ini_section) or {})
        paths = [ini.parent / p for p in config.get_prepend_sys_paths_list() or []]
        name = (config.get_section("backoffice") or {}).get("name", name)
    return History(
        name,
        location,
        ini_options=options,
        import_paths=tuple(p.resolve() for p in paths) or (package_root(location),),
    )


def governing_ini(location: Path) -> Path | None:
    """The alembic.ini in ``location`` or its parent whose script_location is ``location``."""
    for ini in (location / "alembic.ini", location.parent / "alembic.ini"):
        if not ini.is_file():
            continue
        written = Config(file_=str(ini)).get_main_option("script_location")
        if written and (ini.parent / written).resolve() == location:
            return ini
    return None


def package_root(location: Path) -> Path:
    """The directory to import the folder's package from: above its top-most package (the
    folder itself, or the directory holding it), else the folder's parent."""
    top = location if (location / "__init__.py").is_file() else location.parent
    if not (top / "__init__.py").is_file():
        return location.parent
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    return top.parent


def targets(found: Sequence[History], revision: str, *, upgrade: bool) -> list[tuple[History, str]]:
    """Which histories ``revision`` moves, in order, and to what."""
    if upgrade and revision in ("head", "heads"):
        return [(history, revision) for history in found]
    if not upgrade and revision == "base":
        return [(history, revision) for history in reversed(found)]
    name, at, rest = revision.partition("@")
    named = [history for history in found if at and history.name == name]
    if named:
        return [(named[0], rest)]
    if not PLAIN_REVISION.fullmatch(revision):
        if len(found) == 1:
            return [(found[0], revision)]
        names = ", ".join(history.name for history in found)
        raise MigrationFailed(
            f"revision {revision!r}: say which history it is for, as HISTORY@{revision} "
            f"(histories: {names})",
            [],
        )
    owners = [history for history in found if history.has_revision(revision)]
    if len(owners) == 1:
        return [(owners[0], revision)]
    if not owners:
        searched = "; ".join(history.label for history in found)
        raise MigrationFailed(f"unknown revision {revision!r} (searched: {searched})", [])
    names = ", ".join(history.name for history in owners)
    raise MigrationFailed(
        f"revision {revision!r} is in several histories ({names}): write HISTORY@{revision}", []
    )


def cause(exc: BaseException, *, with_type: bool = True) -> str:
    """The first line of what went wrong (the driver's error for a database error)."""
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    text = lines[0] if lines else ""
    if not with_type:
        return text or type(inner).__name__
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def _escape(value: str) -> str:
    # Config values go through configparser interpolation: a literal % must be doubled.
    return value.replace("%", "%%")
