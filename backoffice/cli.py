"""The operator's door: ``backoffice serve | migrate | createsuperuser | changepassword``.

Like the API and the admin, every command goes through the services (``Caller.operator("cli")``)
in one unit of work, so the password policy, uniqueness and the last-superuser rule hold here
too. Expected failures are one line on stderr and an exit code, never a traceback:
1 for a refused command, 2 for a configuration that cannot be used.
"""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from alembic.util.exc import CommandError as AlembicCommandError
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice import __version__, migrate
from backoffice.config import SecretKeyError, Settings
from backoffice.errors import Conflict, DomainError, InvalidInput
from backoffice.models import User, UserAdminCreate
from backoffice.models.users import UserBase
from backoffice.office import BackOffice
from backoffice.services import Caller

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_INTERRUPTED = 130

# Names of environment variables that may hold a password, so it stays out of the process list.
SUPERUSER_PASSWORD_ENV = "BACKOFFICE_SUPERUSER_PASSWORD"  # noqa: S105
NEW_PASSWORD_ENV = "BACKOFFICE_NEW_PASSWORD"  # noqa: S105
CALLER = Caller.operator("cli")

T = TypeVar("T")


class CommandFailed(Exception):
    """A refusal to report as one line on stderr (exit code 1)."""


class ConfigurationError(Exception):
    """Settings that cannot be used (exit code 2)."""


class InputClosed(Exception):
    """Standard input ended while a prompt was waiting for an answer."""


# -- entry points ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        settings = load_settings()
        return handler(settings, args)
    except ConfigurationError as exc:
        _error(f"configuration error: {exc}")
        return EXIT_BAD_CONFIG
    except CommandFailed as exc:
        _error(str(exc))
        return EXIT_FAILED
    except InputClosed:
        _error("standard input ended before every answer was given.")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted.")
        return EXIT_INTERRUPTED


def create_app() -> FastAPI:
    """The application factory uvicorn imports for ``serve --reload`` and ``--workers``."""
    return BackOffice(load_settings()).create_app()


def load_settings() -> Settings:
    """The settings from the environment, or a ``ConfigurationError`` saying what is wrong."""
    try:
        return Settings()
    except SecretKeyError as exc:
        raise ConfigurationError(str(exc)) from None
    except ValidationError as exc:
        raise ConfigurationError(_settings_errors(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backoffice",
        description="Run and administer a backoffice site. Settings come from BACKOFFICE_* "
        "environment variables (and a .env file in the current directory).",
    )
    parser.add_argument("--version", action="version", version=f"backoffice {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the web server (API and admin)",
        description="Run the server. On SQLite the database is migrated first; on PostgreSQL it "
        "must already be at the latest revision (run `backoffice migrate`).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (%(default)s)")
    serve.add_argument("--reload", action="store_true", help="restart when the code changes")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (%(default)s)")
    serve.set_defaults(handler=cmd_serve)

    mig = commands.add_parser(
        "migrate",
        help="bring the database schema up to date",
        description="Apply the database migrations (or, with --downgrade, revert them).",
    )
    target = mig.add_mutually_exclusive_group()
    target.add_argument("--revision", default="head", help="upgrade to this revision (head)")
    target.add_argument(
        "--downgrade", metavar="REVISION", help="revert to REVISION ('base' drops every table)"
    )
    mig.add_argument("--yes", action="store_true", help="do not ask before a downgrade")
    mig.set_defaults(handler=cmd_migrate)

    create = commands.add_parser(
        "createsuperuser",
        help="create a superuser account",
        description="Create a superuser. Asks for what the options do not give, unless "
        "--no-input is passed; then the password comes from --password or "
        f"${SUPERUSER_PASSWORD_ENV} (which, unlike --password, does not show in the process list).",
    )
    create.add_argument("--email")
    create.add_argument("--username")
    create.add_argument("--password", help=f"prefer ${SUPERUSER_PASSWORD_ENV}")
    create.add_argument("--no-input", action="store_true", help="never prompt; fail instead")
    create.set_defaults(handler=cmd_createsuperuser)

    change = commands.add_parser(
        "changepassword",
        help="set a user's password",
        description="Set a new password for a user, without the old one. With --no-input the "
        f"password comes from --password or ${NEW_PASSWORD_ENV}.",
    )
    change.add_argument("login", metavar="USERNAME_OR_EMAIL")
    change.add_argument("--password", help=f"prefer ${NEW_PASSWORD_ENV}")
    change.add_argument("--no-input", action="store_true", help="never prompt; fail instead")
    change.set_defaults(handler=cmd_changepassword)

    clear = commands.add_parser(
        "clearsessions",
        help="delete expired sign-in state",
        description="Delete expired or revoked refresh tokens and admin sessions, revoked access "
        "tokens past their expiry, and stale login-throttling counts. Run it from cron.",
    )
    clear.set_defaults(handler=cmd_clearsessions)
    return parser


# -- serve -----------------------------------------------------------------------------------


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
            reload_dirs=[str(Path(__file__).resolve().parent)] if args.reload else None,
            workers=None if args.reload else args.workers,
            log_level=log_level,
        )
    else:
        uvicorn.run(
            BackOffice(settings).create_app(), host=args.host, port=args.port, log_level=log_level
        )
    return EXIT_OK


async def prepare_to_serve(settings: Settings) -> int:
    """Schema first (migrated on SQLite, checked on PostgreSQL), then a way in for an admin.

    Public so that a host app's own launcher can do the same before serving its app.
    """
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


# -- migrate ---------------------------------------------------------------------------------


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


# -- createsuperuser -------------------------------------------------------------------------


def cmd_createsuperuser(settings: Settings, args: argparse.Namespace) -> int:
    values: dict[str, str | None] = {
        "email": args.email,
        "username": args.username,
        "password": args.password,
    }
    if args.no_input:
        values["password"] = values["password"] or os.environ.get(SUPERUSER_PASSWORD_ENV)
        missing = [name for name, value in values.items() if not value]
        if missing:
            hint = f" (or ${SUPERUSER_PASSWORD_ENV})" if "password" in missing else ""
            needed = ", ".join(f"--{name}" for name in missing)
            raise CommandFailed(f"with --no-input, {needed} must be given{hint}.")
    while True:
        if not args.no_input:
            _ask_missing(values)
        try:
            data = UserAdminCreate.model_validate(values | {"is_staff": True, "is_superuser": True})
            user = asyncio.run(_create_user(settings, data))
        except ValidationError as exc:
            fields = _report_validation(exc)
        except DomainError as exc:
            fields = _report_domain(exc)
        else:
            print(f"Superuser {user.username!r} <{user.email}> created.")
            return EXIT_OK
        if args.no_input or not fields & values.keys():
            return EXIT_FAILED
        for name in fields & values.keys():
            values[name] = None  # ask again for what was refused


async def _create_user(settings: Settings, data: UserAdminCreate) -> User:
    async def create(office: BackOffice, session: AsyncSession) -> User:
        return await office.users(session, CALLER).create(data)

    return await _unit_of_work(settings, create)


def _ask_missing(values: dict[str, str | None]) -> None:
    while not values["email"]:
        values["email"] = _ask("Email address: ")
    local_part = (values["email"] or "").partition("@")[0].lower()
    suggestion = local_part if _is_valid_username(local_part) else ""
    while not values["username"]:
        values["username"] = _ask(f"Username [{suggestion}]: " if suggestion else "Username: ")
        values["username"] = values["username"] or suggestion
    if not values["password"]:
        values["password"] = _ask_new_password()


def _is_valid_username(value: str) -> bool:
    try:
        UserBase.model_validate({"email": "someone@example.com", "username": value})
    except ValidationError:
        return False
    return True


# -- changepassword --------------------------------------------------------------------------


def cmd_changepassword(settings: Settings, args: argparse.Namespace) -> int:
    login: str = args.login
    password: str | None = args.password
    if args.no_input:
        password = password or os.environ.get(NEW_PASSWORD_ENV)
        if not password:
            raise CommandFailed(f"with --no-input, --password (or ${NEW_PASSWORD_ENV}) is needed.")
    else:
        user = asyncio.run(_unit_of_work(settings, _finder(login)))
        print(f"Changing the password of {user.username!r} <{user.email}>.")
    while True:
        if password is None:
            password = _ask_new_password()
        try:
            user = asyncio.run(_set_password(settings, login, password))
        except DomainError as exc:
            fields = _report_domain(exc)
            if args.no_input or "password" not in fields:
                return EXIT_FAILED
            password = None
            continue
        print(f"Password changed for {user.username!r}.")
        return EXIT_OK


def cmd_clearsessions(settings: Settings, args: argparse.Namespace) -> int:
    async def purge(office: BackOffice, session: AsyncSession) -> dict[str, int]:
        return await office.auth(session, CALLER).purge_expired()

    counts = asyncio.run(_unit_of_work(settings, purge))
    print("Deleted " + ", ".join(f"{n} from {table}" for table, n in counts.items()) + ".")
    return EXIT_OK


async def _set_password(settings: Settings, login: str, password: str) -> User:
    async def change(office: BackOffice, session: AsyncSession) -> User:
        user = await _finder(login)(office, session)
        assert user.id is not None
        await office.users(session, CALLER).set_password(user.id, password)
        return user

    return await _unit_of_work(settings, change)


def _finder(login: str) -> Callable[[BackOffice, AsyncSession], Awaitable[User]]:
    async def find(office: BackOffice, session: AsyncSession) -> User:
        # The same lookup as signing in: username or email, case-insensitive.
        user = await office.users(session, CALLER).find_by_login(login)
        if user is None:
            raise CommandFailed(f"no user has the username or email {login!r}.")
        return user

    return find


# -- shared pieces ---------------------------------------------------------------------------


async def _unit_of_work(
    settings: Settings, work: Callable[[BackOffice, AsyncSession], Awaitable[T]]
) -> T:
    """One session, committed once if ``work`` succeeds; the engine is disposed either way."""
    office = BackOffice(settings)
    try:
        async with office.session() as session:
            return await work(office, session)
    except (SQLAlchemyError, OSError) as exc:
        raise CommandFailed(_database_failure(settings, exc)) from None
    finally:
        await office.dispose()


def _ask(prompt: str) -> str:
    """A line from the operator; prompts go to stderr so stdout stays clean for scripts."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise InputClosed
    return line.strip()


def _ask_secret(prompt: str) -> str:
    # getpass reads the controlling terminal, not a pipe: use it only when stdin is that
    # terminal, so `printf 'pw\npw\n' | backoffice changepassword bob` reads the pipe.
    if sys.stdin.isatty():
        try:
            return getpass.getpass(prompt)
        except EOFError:
            raise InputClosed from None
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise InputClosed
    return line.rstrip("\r\n")


def _ask_new_password() -> str:
    while True:
        password = _ask_secret("Password: ")
        if not password:
            _error("the password cannot be empty.")
            continue
        if _ask_secret("Password (again): ") == password:
            return password
        _error("the passwords do not match; try again.")


def _confirm(warning: str) -> None:
    if not sys.stdin.isatty():
        raise CommandFailed(f"{warning} Pass --yes to go ahead.")
    answer = _ask(f"{warning} Type 'yes' to go ahead: ")
    if answer.lower() != "yes":
        raise CommandFailed("cancelled; nothing was changed.")


def _report_validation(exc: ValidationError) -> set[str]:
    """Print each problem on its own line; return the names of the fields at fault."""
    for message in _validation_messages(exc):
        _error(message)
    return {str(error["loc"][0]) for error in exc.errors() if error["loc"]}


def _report_domain(exc: DomainError) -> set[str]:
    for message in _domain_messages(exc):
        _error(message)
    if isinstance(exc, InvalidInput):
        return {error.field for error in exc.errors}
    if isinstance(exc, Conflict) and exc.field:
        return {exc.field}
    return set()


def _validation_messages(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        cause = (error.get("ctx") or {}).get("error")
        text = str(cause) if isinstance(cause, Exception) else error["msg"]
        where = ".".join(str(part) for part in error["loc"])
        messages.append(f"{where}: {text}" if where else text)
    return messages


def _domain_messages(exc: DomainError) -> list[str]:
    if isinstance(exc, InvalidInput):
        return [error.message for error in exc.errors]
    return [exc.detail]


def _settings_errors(exc: ValidationError) -> str:
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        cause = (error.get("ctx") or {}).get("error")
        text = str(cause) if isinstance(cause, Exception) else error["msg"]
        if error["loc"]:
            text = f"BACKOFFICE_{str(error['loc'][0]).upper()}: {text}"
        messages.append(text)
    return "; ".join(messages)


def _database_failure(settings: Settings, exc: BaseException) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"database {_url(settings)}: {reason[0] if reason else type(exc).__name__}"


def _url(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _revisions(revisions: Sequence[str]) -> str:
    return ", ".join(revisions) if revisions else "base (no revision)"


def _error(message: str) -> None:
    print(f"backoffice: error: {message}", file=sys.stderr, flush=True)
