"""``backoffice createsuperuser``, ``changepassword`` and ``removesecondfactors``."""

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable

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
from backoffice.cli.prompts import _ask, _ask_new_password
from backoffice.config import Settings
from backoffice.errors import Conflict, DomainError, InvalidInput
from backoffice.models import User, UserAdminCreate
from backoffice.models.users import UserBase
from backoffice.office import BackOffice

# Names of environment variables that may hold a password, so it stays out of the process list.
SUPERUSER_PASSWORD_ENV = "BACKOFFICE_SUPERUSER_PASSWORD"  # noqa: S105
NEW_PASSWORD_ENV = "BACKOFFICE_NEW_PASSWORD"  # noqa: S105


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


# -- removesecondfactors --------------------------------------------------------------------


def cmd_removesecondfactors(settings: Settings, args: argparse.Namespace) -> int:
    """A lost phone: the user's authenticator app, passkeys and recovery codes are removed and
    every session and token ends; they set up a new factor at their next sign-in. Audited."""
    try:
        user = asyncio.run(_remove_second_factors(settings, args.login))
    except DomainError as exc:
        _report_domain(exc)
        return EXIT_FAILED
    print(f"Second factors removed for {user.username!r}; their sessions and tokens have ended.")
    return EXIT_OK


async def _remove_second_factors(settings: Settings, login: str) -> User:
    async def remove(office: BackOffice, session: AsyncSession) -> User:
        user = await _finder(login)(office, session)
        assert user.id is not None
        return await office.factors(session, CALLER).remove_all(user.id)

    return await _unit_of_work(settings, remove)


# -- reporting refusals ----------------------------------------------------------------------


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
