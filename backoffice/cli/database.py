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
    _revisions,
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
    try:
        return asyncio.run(
            _migrate(settings, upgrade_to=args.revision, downgrade_to=args.downgrade)
        )
    except (SQLAlchemyError, OSError, AlembicCommandError) as exc:
        raise CommandFailed(_database_failure(settings, exc)) from None


async def _migrate(settings: Settings, *, upgrade_to: str, downgrade_to: str | None) -> int:
    before = await migrate.current_revisions(settings)
    if downgrade_to is None:
        await migrate.upgrade(settings, upgrade_to)
    else:
        await migrate.downgrade(settings, downgrade_to)
    after = await migrate.current_revisions(settings)
    url = _url(settings)
    if before == after:
        print(f"Database {url} is already at {_revisions(after)}; nothing to do.")
    else:
        verb = "Upgraded" if downgrade_to is None else "Downgraded"
        print(f"{verb} database {url} from {_revisions(before)} to {_revisions(after)}.")
    return EXIT_OK


def cmd_clearsessions(settings: Settings, args: argparse.Namespace) -> int:
    async def purge(office: BackOffice, session: AsyncSession) -> dict[str, int]:
        return await office.auth(session, CALLER).purge_expired()

    counts = asyncio.run(_unit_of_work(settings, purge))
    print("Deleted " + ", ".join(f"{n} from {table}" for table, n in counts.items()) + ".")
    return EXIT_OK
