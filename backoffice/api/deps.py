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
from backoffice.models.permissions import Action
from backoffice.services import Caller, PostService, UserService
from backoffice.services.auth import AccessGrant, AuthService
from backoffice.services.base import Service
from backoffice.services.groups import GroupService
from backoffice.services.permissions import PermissionService

if TYPE_CHECKING:
    from backoffice.office import BackOffice

# tokenUrl is set to the mounted prefix by BackOffice.mount; this is the default layout.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def get_office(request: Request) -> "BackOffice":
    return request.app.state.backoffice  # type: ignore[no-any-return]


def client_address(request: Request) -> str | None:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers to make it the
    client's)."""
    return request.client.host if request.client else None


OfficeDep = Annotated["BackOffice", Depends(get_office)]


async def get_session(office: OfficeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the endpoint returns without error."""
    async with session_scope(office.session_maker) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit is
# reported as an error instead of after a success response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_auth_service(session: SessionDep, office: OfficeDep) -> AuthService:
    return office.auth(session, Caller.anonymous("api"))


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_access_grant(token: TokenDep, auth: AuthServiceDep) -> AccessGrant:
    if not token:
        raise AuthenticationFailed("Not authenticated: send an 'Authorization: Bearer' token.")
    return await auth.grant_for_access_token(token)


AccessGrantDep = Annotated[AccessGrant, Depends(get_access_grant)]


async def get_current_user(grant: AccessGrantDep) -> User:
    return grant.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_active_user(user: CurrentUser) -> User:
    if not user.is_active:
        raise AuthenticationFailed("This account is inactive.")
    return user


ActiveUser = Annotated[User, Depends(get_current_active_user)]


async def require_admin(user: ActiveUser) -> User:
    """Active staff or superuser (what they may do, their permissions say)."""
    if not user.is_admin:
        raise PermissionDenied("This operation is for staff only.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


async def get_caller(user: ActiveUser) -> Caller:
    return Caller(user=user, door="api")


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_permission(resource: str, action: Action) -> Any:
    """``dependencies=[require_permission("posts", "change")]``: the caller must hold
    ``posts.change`` (superusers hold every permission). The service checks again; this
    answers 403 before any work is done and documents the route."""

    async def dependency(caller: CallerDep, session: SessionDep) -> Caller:
        if not await Service(session, caller).may(resource, action):
            raise PermissionDenied(f"You need the {resource}.{action} permission for this.")
        return caller

    dependency.__name__ = f"require_{resource}_{action}"
    return Depends(dependency)


async def get_user_service(
    session: SessionDep, caller: CallerDep, office: OfficeDep
) -> UserService:
    return office.users(session, caller)


async def get_post_service(
    session: SessionDep, caller: CallerDep, office: OfficeDep
) -> PostService:
    return office.posts(session, caller)


async def get_permission_service(
    session: SessionDep, caller: CallerDep, office: OfficeDep
) -> PermissionService:
    return office.permissions(session, caller)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
PostServiceDep = Annotated[PostService, Depends(get_post_service)]
PermissionServiceDep = Annotated[PermissionService, Depends(get_permission_service)]


async def get_group_service(
    session: SessionDep, caller: CallerDep, office: OfficeDep
) -> GroupService:
    return office.groups(session, caller)


GroupServiceDep = Annotated[GroupService, Depends(get_group_service)]

# Row ids are 32-bit in PostgreSQL: a larger number cannot name a row, and passing it to the
# database driver fails (an overflow) instead of finding nothing.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
