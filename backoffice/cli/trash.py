"""``backoffice purge-trash`` and ``backoffice revert``: the trash emptied from cron, and a
change undone by the operator (``services.trash``, ``services.reverting``).

Both act on backoffice's own resources, or, with ``--office module:name``, on every resource a
host app's ``BackOffice`` registers (its tables with a trash, its audited changes).
"""

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from backoffice.cli.common import (
    CALLER,
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    _database_failure,
    _domain_messages,
    _error,
)
from backoffice.config import Settings
from backoffice.errors import DomainError, RevertRefused
from backoffice.office import BackOffice

T = TypeVar("T")

OFFICE_HELP = (
    "the host app's BackOffice as module:attribute (e.g. myapp.main:office), so its "
    "registered tables are covered too; default: backoffice's own"
)


def load_office(settings: Settings, spec: str | None) -> BackOffice:
    """``BackOffice(settings)``, or the host's own object named by ``spec``."""
    if not spec:
        return BackOffice(settings)
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would find the host's package
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandFailed(f"--office {spec}: cannot import {module_name!r} ({exc}).") from None
    name = attribute or "office"
    if not hasattr(module, name):
        raise CommandFailed(f"--office {spec}: {module_name} has no attribute {name!r}.")
    office = getattr(module, name)
    if not isinstance(office, BackOffice):
        raise CommandFailed(f"--office {spec}: {name!r} is not a BackOffice.")
    return office


async def _run(office: BackOffice, work: Awaitable[T]) -> T:
    """``work`` against ``office``; a refusal or a database failure is one line, and the
    engine is disposed either way."""
    try:
        return await work
    except RevertRefused:
        raise  # its door adds the hints
    except DomainError as exc:
        raise CommandFailed("; ".join(_domain_messages(exc))) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CommandFailed(_database_failure(office.settings, exc)) from None
    finally:
        await office.dispose()


def cmd_purgetrash(settings: Settings, args: argparse.Namespace) -> int:
    office = load_office(settings, args.office)
    report = asyncio.run(_run(office, office.purge_trash(CALLER, args.days)))
    days = args.days or office.settings.trash_days
    done = ", ".join(f"{r.count} from {name}" for name, r in report.items()) or "nothing (no trash)"
    print(f"Purged rows deleted more than {days} days ago: {done}.")
    kept = [reason for r in report.values() for reason in r.kept]
    for reason in kept:
        _error(f"kept in the trash: {reason}")
    return EXIT_FAILED if kept else EXIT_OK


def cmd_revert(settings: Settings, args: argparse.Namespace) -> int:
    office = load_office(settings, args.office)

    async def revert() -> list[Any]:
        async with office.session() as session:
            reverts = office.reverts(session, CALLER)
            if args.unit:
                return await reverts.revert_unit(args.unit, force=args.force)
            return await reverts.revert_entry(args.entry, force=args.force)

    try:
        entries = asyncio.run(_run(office, revert()))
    except RevertRefused as exc:
        hint = " (--force reverts it anyway)" if exc.forcible else ""
        if not args.office and "is not a resource registered here" in exc.detail:
            hint += " (a host app's tables: pass --office MODULE:NAME)"
        raise CommandFailed(exc.detail + hint) from None
    if not entries:
        print("Nothing to revert: the rows already hold the recorded values.")
        return EXIT_OK
    for entry in entries:
        print(f"{entry.action} {entry.object_type} {entry.object_id} (entry {entry.id})")
    print(f"Reverted: {len(entries)} audit entries written, unit {entries[0].unit}.")
    return EXIT_OK


def add_trash_commands(commands: Any) -> None:
    purge = commands.add_parser(
        "purge-trash",
        help="delete for good what has been in the trash too long",
        description="Purge every row deleted more than BACKOFFICE_TRASH_DAYS days ago (or "
        "--days) from the trash of each resource that has one; each purge is written to the "
        "audit log. Run it from cron.",
    )
    purge.add_argument("--days", type=_positive, help="override BACKOFFICE_TRASH_DAYS")
    purge.add_argument("--office", metavar="MODULE:NAME", help=OFFICE_HELP)
    purge.set_defaults(handler=cmd_purgetrash)

    revert = commands.add_parser(
        "revert",
        help="undo an audit entry, or everything one request did",
        description="Undo one audit entry (its id), or with --unit every entry one request, "
        "admin form, bulk action or command wrote, through the services. Refused with the "
        "reason when a later change touched the same fields, unless --force.",
    )
    target = revert.add_mutually_exclusive_group(required=True)
    target.add_argument("entry", metavar="ENTRY_ID", type=_positive, nargs="?")
    target.add_argument("--unit", help="an entry's unit (32 hex digits)")
    revert.add_argument("--force", action="store_true", help="revert over later changes")
    revert.add_argument("--office", metavar="MODULE:NAME", help=OFFICE_HELP)
    revert.set_defaults(handler=cmd_revert)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to {2**31 - 1})")
    return number
