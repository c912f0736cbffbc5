"""``backoffice createapikey`` and ``backoffice revokeapikey``: keys for a CI job, say, made
before anyone can sign in to make one. The key alone goes to standard output, so a script can
capture it; it is shown this once."""

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.cli.common import (
    CALLER,
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    _domain_messages,
    _error,
    _unit_of_work,
    _validation_messages,
)
from backoffice.config import Settings
from backoffice.errors import DomainError
from backoffice.models import ApiKey, ApiKeyCreate
from backoffice.office import BackOffice
from backoffice.services.api_keys import NewApiKey


def cmd_createapikey(settings: Settings, args: argparse.Namespace) -> int:
    login: str = args.login

    async def create(office: BackOffice, session: AsyncSession) -> NewApiKey:
        owner = await office.users(session, CALLER).find_by_login(login)
        if owner is None:
            raise CommandFailed(f"no user has the username or email {login!r}.")
        data = ApiKeyCreate(
            name=args.name,
            scopes=args.scope,
            expires_at=datetime.now(UTC) + timedelta(days=args.days),
            user_id=owner.id,
        )
        return await office.api_keys(session, CALLER).create(data)

    try:
        created = asyncio.run(_unit_of_work(settings, create))
    except ValidationError as exc:
        for message in _validation_messages(exc):
            _error(message)
        return EXIT_FAILED
    except DomainError as exc:
        for message in _domain_messages(exc):
            _error(message)
        return EXIT_FAILED
    row = created.row
    print(
        f"API key {row.id} ({row.name!r}, {', '.join(row.scopes)}) for {login!r}, "
        f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC. It is shown this once:",
        file=sys.stderr,
    )
    print(created.key, flush=True)
    return EXIT_OK


def cmd_revokeapikey(settings: Settings, args: argparse.Namespace) -> int:
    key_id: int = args.key_id

    async def revoke(office: BackOffice, session: AsyncSession) -> ApiKey:
        return await office.api_keys(session, CALLER).revoke(key_id)

    try:
        key = asyncio.run(_unit_of_work(settings, revoke))
    except DomainError as exc:
        for message in _domain_messages(exc):
            _error(message)
        return EXIT_FAILED
    print(f"API key {key.id} ({key.name!r}) is revoked.")
    return EXIT_OK


def add_api_key_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    create = commands.add_parser(
        "createapikey",
        help="create an API key for a user (e.g. for a CI job)",
        description="Create an API key for an active staff user, holding the given scopes "
        "(permission codes the user holds). Only the key is printed to standard output: "
        "store it now, it is never shown again.",
    )
    create.add_argument("login", metavar="USERNAME_OR_EMAIL")
    create.add_argument("--name", required=True, help="what the key is for")
    create.add_argument(
        "--scope", action="append", required=True, metavar="CODE", help="e.g. invoices.view; repeat"
    )
    create.add_argument(
        "--days",
        type=int,
        required=True,
        help="days until it expires (at most BACKOFFICE_API_KEY_MAX_LIFETIME_DAYS)",
    )
    create.set_defaults(handler=cmd_createapikey)

    revoke = commands.add_parser(
        "revokeapikey",
        help="revoke an API key",
        description="Revoke an API key by its number: it stops working at once.",
    )
    revoke.add_argument("key_id", metavar="KEY_ID", type=int)
    revoke.set_defaults(handler=cmd_revokeapikey)
