"""FastAPI dependencies, as ``Annotated`` aliases: the session, the caller, the services.

They are ``async def`` even where they do no I/O: FastAPI runs a plain ``def`` dependency in a
worker thread, a costly hop on every request for work this small.
"""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.db import session_scope
from backoffice.errors import AuthenticationFailed, PermissionDenied
from backoffice.models import User
from backoffice.models.common import MAX_ID
from backoffice.models.permissions import Action
from backoffice.security.api_keys import looks_like_api_key
from backoffice.services import Caller, PostService, UserService
from backoffice.services.access import AccessGrant, read_access_grant
from backoffice.services.auth import AuthService
from backoffice.services.base import Service
from backoffice.services.factors import has_second_factor
from backoffice.services.groups import GroupService
from backoffice.services.permissions import PermissionService

if TYPE_CHECKING:
    from backoffice.office import BackOffice

# tokenUrl is set to the mounted prefix by BackOffice.mount; this is the default layout.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


def office_of(request: Request) -> "BackOffice":
    return request.app.state.backoffice  # type: ignore[no-any-return]


async def get_office(request: Request) -> "BackOffice":
    return office_of(request)


def client_address(request: Request) -> str | None:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers to make it the
    client's)."""
    return request.client.host if request.client else None


OfficeDep = Annotated["BackOffice", Depends(get_office)]

ENROL_FIRST = (
    "Staff accounts need a second factor: set one up first (POST /auth/second-factors/totp, "
    "then /auth/second-factors/totp/confirm)."
)

SAFE_METHODS = frozenset({"GET", "HEAD"})

# The dependencies every signed-in request solves take the Request and call ``office_of`` and
# ``_verify_token`` themselves rather than depending on ``OfficeDep`` and each other: each
# dependency FastAPI solves costs tens of microseconds on every request.


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the endpoint returns without error. A read
    (GET, HEAD) runs in autocommit: it writes nothing that must land together."""
    office = office_of(request)
    maker = office.read_session_maker if request.method in SAFE_METHODS else office.session_maker
    async with session_scope(maker) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit is
# reported as an error instead of after a success response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_auth_service(request: Request, session: SessionDep) -> AuthService:
    return office_of(request).auth(session, Caller.anonymous("api"))


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def _verify_token(request: Request, token: str | None, session: AsyncSession) -> AccessGrant:
    if not token:
        raise AuthenticationFailed("Not authenticated: send an 'Authorization: Bearer' token.")
    # One Core statement on the request's connection, no ORM (see services/access.py).
    return await read_access_grant(
        await session.connection(), token, secret_key=office_of(request).settings.get_secret_key()
    )


async def get_access_grant(request: Request, token: TokenDep, session: SessionDep) -> AccessGrant:
    return await _verify_token(request, token, session)


AccessGrantDep = Annotated[AccessGrant, Depends(get_access_grant)]


async def get_caller(request: Request, token: TokenDep, session: SessionDep) -> Caller:
    """The signed-in account, as services see it: a snapshot taken as the request began (see
    services/access.py). A token of an inactive account is refused, so this user is active.

    An API key (``Authorization: Bearer bok_…``; never read from the query string) gives its
    owner narrowed to the key's scopes (services/api_key_access.py). Staff whom the policy asks
    for a second factor they lack come with ``enrolment_pending``."""
    if token and looks_like_api_key(token):
        auth = office_of(request).auth(session, Caller.anonymous("api"))
        return await auth.caller_for_api_key(token, address=client_address(request))
    grant = await _verify_token(request, token, session)
    caller = Caller(user=grant.user, door="api", refresh_family=grant.claims.family)
    user = grant.user
    if user.is_admin and office_of(request).settings.requires_second_factor:
        assert user.id is not None
        caller.enrolment_pending = not await has_second_factor(session, user.id)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_person(caller: CallerDep) -> Caller:
    """A signed-in person: a request made with an API key is refused (403)."""
    if caller.via_api_key:
        raise PermissionDenied("An API key cannot use this route: it is for people.")
    return caller


PersonDep = Annotated[Caller, Depends(get_person)]


async def get_current_person(caller: PersonDep) -> User:
    assert caller.user is not None
    return caller.user


CurrentPerson = Annotated[User, Depends(get_current_person)]


async def get_current_user(caller: CallerDep) -> User:
    assert caller.user is not None
    return caller.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(caller: CallerDep) -> User:
    """Active staff or superuser (what they may do, their permissions say)."""
    if caller.enrolment_pending:
        raise PermissionDenied(ENROL_FIRST)
    if caller.user is None or not caller.is_admin:
        raise PermissionDenied("This operation is for staff only.")
    return caller.user


AdminUser = Annotated[User, Depends(require_admin)]


def require_permission(resource: str, action: Action) -> Any:
    """``dependencies=[require_permission("posts", "change")]``: the caller must hold
    ``posts.change`` (superusers hold every permission). The service checks again; this
    answers 403 before any work is done and documents the route."""

    async def dependency(caller: CallerDep, session: SessionDep) -> Caller:
        if caller.enrolment_pending:
            raise PermissionDenied(ENROL_FIRST)
        if not await Service(session, caller).may(resource, action):
            raise PermissionDenied(f"You need the {resource}.{action} permission for this.")
        return caller

    dependency.__name__ = f"require_{resource}_{action}"
    return Depends(dependency)


async def get_user_service(request: Request, session: SessionDep, caller: CallerDep) -> UserService:
    return office_of(request).users(session, caller)


async def get_post_service(request: Request, session: SessionDep, caller: CallerDep) -> PostService:
    return office_of(request).posts(session, caller)


async def get_permission_service(
    request: Request, session: SessionDep, caller: CallerDep
) -> PermissionService:
    return office_of(request).permissions(session, caller)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
PostServiceDep = Annotated[PostService, Depends(get_post_service)]
PermissionServiceDep = Annotated[PermissionService, Depends(get_permission_service)]


async def get_group_service(
    request: Request, session: SessionDep, caller: CallerDep
) -> GroupService:
    return office_of(request).groups(session, caller)


GroupServiceDep = Annotated[GroupService, Depends(get_group_service)]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
