"""The operator's door: ``backoffice serve | migrate | createsuperuser | changepassword | …``.

Like the API and the admin, every command goes through the services (``Caller.operator("cli")``)
in one unit of work, so the password policy, uniqueness and the last-superuser rule hold here
too. Expected failures are one line on stderr and an exit code, never a traceback:
1 for a refused command, 2 for a configuration that cannot be used.
"""

import argparse
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from pydantic import ValidationError

from backoffice import __version__
from backoffice.cli.accounts import (
    NEW_PASSWORD_ENV,
    SUPERUSER_PASSWORD_ENV,
    cmd_changepassword,
    cmd_createsuperuser,
    cmd_removesecondfactors,
)
from backoffice.cli.api_keys import add_api_key_commands
from backoffice.cli.common import (
    EXIT_BAD_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CommandFailed,
    _error,
)
from backoffice.cli.database import cmd_clearsessions, cmd_migrate
from backoffice.cli.migrations import cmd_makemigrations, cmd_startmigrations
from backoffice.cli.prompts import InputClosed
from backoffice.cli.serve import cmd_serve, prepare_to_serve
from backoffice.cli.trash import add_trash_commands
from backoffice.config import SecretKeyError, Settings
from backoffice.office import BackOffice

__all__ = [
    "EXIT_BAD_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "NEW_PASSWORD_ENV",
    "SUPERUSER_PASSWORD_ENV",
    "CommandFailed",
    "ConfigurationError",
    "InputClosed",
    "build_parser",
    "create_app",
    "load_settings",
    "main",
    "prepare_to_serve",
]


class ConfigurationError(Exception):
    """Settings that cannot be used (exit code 2)."""


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


def _settings_errors(exc: ValidationError) -> str:
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        cause = (error.get("ctx") or {}).get("error")
        text = str(cause) if isinstance(cause, Exception) else error["msg"]
        if error["loc"]:
            text = f"BACKOFFICE_{str(error['loc'][0]).upper()}: {text}"
        messages.append(text)
    return "; ".join(messages)


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
        description="Apply the database migrations (or, with --downgrade, revert them): "
        "backoffice's, then each host app's in BACKOFFICE_APP_MIGRATIONS. A revision id moves "
        "only the history it belongs to (write HISTORY@REVISION if ids collide).",
    )
    target = mig.add_mutually_exclusive_group()
    target.add_argument(
        "--revision", default="head", help="upgrade to this revision ('head': every history)"
    )
    target.add_argument(
        "--downgrade",
        metavar="REVISION",
        help="revert to REVISION ('base': every history, the host apps' first; drops every table)",
    )
    mig.add_argument("--yes", action="store_true", help="do not ask before a downgrade")
    mig.set_defaults(handler=cmd_migrate)

    start = commands.add_parser(
        "startmigrations",
        help="start a host app's own migrations folder",
        description="Write an Alembic folder (alembic.ini, env.py, script.py.mako, versions/) for "
        "the tables of a host app's models module, with its own version table. Existing files "
        "are never overwritten.",
    )
    start.add_argument("path", metavar="PATH", help="the folder to create, e.g. myapp/migrations")
    start.add_argument("--models", required=True, help="the module of your tables: myapp.models")
    start.add_argument("--name", help="the history's name (default: the models' top package)")
    start.set_defaults(handler=cmd_startmigrations)

    make = commands.add_parser(
        "makemigrations",
        help="autogenerate a revision of a host app's migrations",
        description="Compare a host app's models with the database (which must be at that "
        "history's head) and write a revision for the differences. Upgrades nothing.",
    )
    make.add_argument("-m", "--message", required=True, help="what the revision does")
    make.add_argument(
        "--app", metavar="FOLDER", help="the app's migrations (default: the only one listed)"
    )
    make.add_argument("--rev-id", help="the revision id (default: a random one)")
    make.set_defaults(handler=cmd_makemigrations)

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

    lost = commands.add_parser(
        "removesecondfactors",
        help="remove a user's second factors (a lost phone)",
        description="Remove a user's authenticator app, passkeys and recovery codes, and end "
        "every session and token of theirs; they set up a new factor at their next sign-in. "
        "Written to the audit log.",
    )
    lost.add_argument("login", metavar="USERNAME_OR_EMAIL")
    lost.set_defaults(handler=cmd_removesecondfactors)

    clear = commands.add_parser(
        "clearsessions",
        help="delete expired sign-in state",
        description="Delete expired or revoked refresh tokens and admin sessions, revoked access "
        "tokens past their expiry, and stale login-throttling counts. Run it from cron.",
    )
    clear.set_defaults(handler=cmd_clearsessions)
    add_api_key_commands(commands)
    add_trash_commands(commands)
    return parser
