"""``backoffice migrate`` and ``backoffice clearsessions``."""

import argparse
import asyncio

from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice import migrate
from backoffice.cli.common import (
    CALLER,
    EXIT_OK,
    CommandFailed,
    _database_failure,
    _unit_of_work,
    _url,
)
from backoffice.cli.prompts import _confirm
from backoffice.config import Settings
from backoffice.office import BackOffice


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    if args.downgrade is not None and not args.yes:
        _confirm(
            f"Downgrading database {_url(settings)} to {args.downgrade} may drop tables and the "
            "data in them."
        )
    upgrade = args.downgrade is None
    revision: str = args.revision if upgrade else args.downgrade
    try:
        moved = asyncio.run(_migrate(settings, revision, upgrade))
    except migrate.MigrationFailed as exc:
        if exc.moved:
            _report(settings, exc.moved, upgrade)
        raise CommandFailed(str(exc)) from None
    except (SQLAlchemyError, OSError, AlembicCommandError) as exc:
        raise CommandFailed(_database_failure(settings, exc)) from None
    _report(settings, moved, upgrade)
    return EXIT_OK


async def _migrate(settings: Settings, revision: str, upgrade: bool) -> list[migrate.Moved]:
    if upgrade:
        return await migrate.upgrade(settings, revision)
    return await migrate.downgrade(settings, revision)


def _report(settings: Settings, moved: list[migrate.Moved], upgrade: bool) -> None:
    """One line per history run: where it was and where it is now."""
    url = _url(settings)
    if any(m.before != m.after for m in moved):
        print(f"{'Upgraded' if upgrade else 'Downgraded'} database {url}:")
    else:
        print(f"Database {url} is already at the revisions asked for; nothing to do:")
    for m in moved:
        same = " (nothing to do)" if m.before == m.after else ""
        print(f"  {m.history.label}: {_at(m.before)} -> {_at(m.after)}{same}")


def _at(revisions: tuple[str, ...] | None) -> str:
    if revisions is None:
        return "?"
    return ", ".join(revisions) if revisions else "none"


def cmd_clearsessions(settings: Settings, args: argparse.Namespace) -> int:
    async def purge(office: BackOffice, session: AsyncSession) -> dict[str, int]:
        return await office.auth(session, CALLER).purge_expired()

    counts = asyncio.run(_unit_of_work(settings, purge))
    print("Deleted " + ", ".join(f"{n} from {table}" for table, n in counts.items()) + ".")
    return EXIT_OK
