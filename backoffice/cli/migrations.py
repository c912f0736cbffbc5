"""``backoffice startmigrations`` and ``backoffice makemigrations``: a host app's own history.

``startmigrations`` writes an Alembic folder for the host's tables (alembic.ini, env.py,
script.py.mako, versions/); ``makemigrations`` autogenerates a revision of it. Neither changes
the database.
"""

import argparse
import asyncio
import importlib.util
import os
import re
import sys
from pathlib import Path
from string import Template

from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy.exc import SQLAlchemyError

from backoffice import histories, migrate
from backoffice.cli.common import EXIT_OK, CommandFailed, _database_failure
from backoffice.config import Settings

SCAFFOLD = Path(__file__).resolve().parent / "scaffold"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def cmd_startmigrations(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.path).expanduser().resolve()
    models: str = args.models
    if not MODULE.fullmatch(models):
        raise CommandFailed(f"--models {models!r} is not a module name (e.g. myapp.models)")
    name: str = args.name or models.split(".")[0]
    if not NAME.fullmatch(name):
        raise CommandFailed(f"--name {name!r}: use letters, digits and _ (a version table suffix)")
    files = {
        folder / "alembic.ini": "alembic.ini.tmpl",
        folder / "env.py": "env.py.tmpl",
        folder / "script.py.mako": "script.py.mako",
    }
    existing = [str(path) for path in files if path.exists()]
    if existing:
        raise CommandFailed(f"not overwriting {', '.join(existing)}; remove it or choose a folder")
    root = histories.package_root(folder)
    _check_importable(models, root)
    relative = Path(os.path.relpath(root, folder)).as_posix()
    values = {
        "name": name,
        "models": models,
        "folder": _shown(folder),
        "prepend": "%(here)s" + ("" if relative == "." else f"/{relative}"),
    }
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    for path, template in files.items():
        text = (SCAFFOLD / template).read_text(encoding="utf-8")
        if template.endswith(".tmpl"):
            text = Template(text).substitute(values)
        path.write_text(text, encoding="utf-8")
    print(f"Wrote {folder} (alembic.ini, env.py, script.py.mako, versions/) for {models}.")
    print(
        f"Next: BACKOFFICE_APP_MIGRATIONS={values['folder']} backoffice makemigrations "
        '-m "first tables", then backoffice migrate.'
    )
    return EXIT_OK


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> int:
    try:
        history = _app_history(settings, args.app)
        written = asyncio.run(migrate.make_revision(settings, history, args.message, args.rev_id))
    except migrate.MigrationFailed as exc:
        raise CommandFailed(str(exc)) from None
    except (SQLAlchemyError, OSError, AlembicCommandError) as exc:
        raise CommandFailed(_database_failure(settings, exc)) from None
    if written is None:
        print(f"No changes in the tables of {history.label}; no revision written.")
    else:
        print(f"Wrote revision {written.revision} of {history.label}: {written.path}")
    return EXIT_OK


def _app_history(settings: Settings, app: str | None) -> histories.History:
    if app is not None:
        return histories.app_history(Path(app))
    if len(settings.app_migrations) == 1:
        return histories.app_history(Path(settings.app_migrations[0]))
    listed = ", ".join(settings.app_migrations) or "none"
    raise CommandFailed(
        "which app's migrations? pass --app FOLDER (BACKOFFICE_APP_MIGRATIONS lists "
        f"{listed}; with exactly one, it is the default)"
    )


def _check_importable(models: str, root: Path) -> None:
    sys.path.insert(0, str(root))
    try:
        found = importlib.util.find_spec(models)
    except (ImportError, ValueError):
        found = None
    finally:
        sys.path.remove(str(root))
    if found is None:
        raise CommandFailed(
            f"cannot find the module {models} from {root} (nor installed): pass the module of "
            "your SQLModel tables, and put the migrations folder in or beside its package"
        )


def _shown(folder: Path) -> str:
    """The folder relative to the working directory when it is below it."""
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)
