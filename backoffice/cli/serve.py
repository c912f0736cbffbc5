"""``backoffice serve``, and ``prepare_to_serve`` for host apps that launch their own server."""

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from alembic.util.exc import CommandError as AlembicCommandError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice import migrate
from backoffice.cli.accounts import _create_user
from backoffice.cli.common import (
    CALLER,
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    _database_failure,
    _domain_messages,
    _error,
    _revisions,
    _unit_of_work,
    _url,
    _validation_messages,
)
from backoffice.config import Settings
from backoffice.errors import Conflict, DomainError
from backoffice.models import UserAdminCreate
from backoffice.office import BackOffice

SERVER_OPTIONS: dict[str, Any] = {
    "loop": "auto",  # uvloop when installed (a dependency where it builds), else asyncio
    "http": "auto",  # httptools when installed, else h11
    "proxy_headers": False,  # the app's ``trusted_proxies`` decides (see BackOffice.mount)
}
"""How ``backoffice serve`` runs uvicorn (bench/README.md: why this stack)."""


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    code = asyncio.run(prepare_to_serve(settings))
    if code != EXIT_OK:
        return code
    sys.stdout.flush()  # uvicorn ends on SIGTERM by re-raising it: unflushed output would be lost
    level = settings.log_level.lower()
    log_level = level if level in uvicorn.config.LOG_LEVELS else "info"
    if args.reload or args.workers > 1:
        # Reloading and worker processes need an import string: each process builds its own app.
        uvicorn.run(
            "backoffice.cli:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            reload=args.reload,
            reload_dirs=[str(Path(__file__).resolve().parents[1])] if args.reload else None,
            workers=None if args.reload else args.workers,
            log_level=log_level,
            **SERVER_OPTIONS,
        )
    else:
        uvicorn.run(
            BackOffice(settings).create_app(),
            host=args.host,
            port=args.port,
            log_level=log_level,
            **SERVER_OPTIONS,
        )
    return EXIT_OK


async def prepare_to_serve(settings: Settings) -> int:
    """Schema first (migrated on SQLite, checked on PostgreSQL), then a way in for an admin.

    Public so that a host app's own launcher can do the same before serving its app. Says
    here, once, what is wrong with a development secret key: serving is where it matters.
    """
    warning = settings.secret_key_warning()
    if warning:
        print(f"Warning: {warning}", file=sys.stderr, flush=True)
    try:
        if settings.is_sqlite:
            before = await migrate.current_revisions(settings)
            await migrate.upgrade(settings)
            after = await migrate.current_revisions(settings)
            if before != after:
                print(f"Migrated database {_url(settings)} to {_revisions(after)}.")
        elif not await migrate.is_up_to_date(settings):
            current = await migrate.current_revisions(settings)
            _error(
                f"Database {_url(settings)} is at revision {_revisions(current)}, but this "
                f"version of backoffice needs {_revisions(migrate.head_revisions())}. "
                "Run `backoffice migrate`, then start the server again."
            )
            return EXIT_FAILED
    except (SQLAlchemyError, OSError, AlembicCommandError) as exc:
        raise CommandFailed(_database_failure(settings, exc)) from None
    return await _ensure_superuser(settings)


async def _ensure_superuser(settings: Settings) -> int:
    async def count(office: BackOffice, session: AsyncSession) -> int:
        return await office.users(session, CALLER).count_superusers()

    if await _unit_of_work(settings, count) > 0:
        return EXIT_OK
    email = settings.first_superuser_email
    password = settings.first_superuser_password
    if not (email and password):
        print(
            "There is no active superuser yet, so nobody can sign in to the admin. Create one:\n"
            "\n    backoffice createsuperuser\n\n"
            "or set BACKOFFICE_FIRST_SUPERUSER_EMAIL, BACKOFFICE_FIRST_SUPERUSER_USERNAME and "
            "BACKOFFICE_FIRST_SUPERUSER_PASSWORD before the next start.",
            flush=True,
        )
        return EXIT_OK
    prefix = "could not create the first superuser from BACKOFFICE_FIRST_SUPERUSER_*"
    try:
        data = UserAdminCreate(
            email=email,
            username=settings.first_superuser_username,
            password=password.get_secret_value(),
            is_staff=True,
            is_superuser=True,
        )
        user = await _create_user(settings, data)
    except ValidationError as exc:
        raise CommandFailed(f"{prefix}: {'; '.join(_validation_messages(exc))}") from None
    except Conflict as exc:
        # Another server starting at the same moment may have just created it.
        if await _unit_of_work(settings, count) > 0:
            return EXIT_OK
        raise CommandFailed(f"{prefix}: {exc.detail}") from None
    except DomainError as exc:
        raise CommandFailed(f"{prefix}: {'; '.join(_domain_messages(exc))}") from None
    print(f"Created superuser {user.username!r} <{user.email}>.", flush=True)
    return EXIT_OK
