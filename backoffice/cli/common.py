"""Pieces every command shares: exit codes, refusals, one unit of work and message formatting."""

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.config import Settings
from backoffice.errors import DomainError, InvalidInput
from backoffice.office import BackOffice
from backoffice.services import Caller

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_INTERRUPTED = 130

CALLER = Caller.operator("cli")

T = TypeVar("T")


class CommandFailed(Exception):
    """A refusal to report as one line on stderr (exit code 1)."""


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
