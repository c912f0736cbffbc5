"""``/users``: registration, the caller's own account, and user management for admins."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from backoffice.api.deps import (
    CurrentPerson,
    IdPath,
    OfficeDep,
    PermissionServiceDep,
    SessionDep,
    UserServiceDep,
    client_address,
    get_person,
    require_permission,
)
from backoffice.api.paging import PageQuery, page_query
from backoffice.api.problems import problem_responses
from backoffice.api.versions import IfMatch, tagged
from backoffice.models import (
    Page,
    PasswordChange,
    User,
    UserAccess,
    UserAccessPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
    UserUpdateMe,
)
from backoffice.services import Caller
from backoffice.services.mail import Mailer
from backoffice.services.users import USER_SORT_FIELDS, UserService

router = APIRouter(prefix="/users", tags=["users"])
AUTH = problem_responses(401, 403)
PERSON = Depends(get_person)
"""One's own account is for the person: an API key is refused there, whatever its scopes."""


@router.post(
    "/",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422, 429),
)
async def register(
    data: UserCreate,
    session: SessionDep,
    office: OfficeDep,
    tasks: BackgroundTasks,
    request: Request,
) -> User:
    """Public registration. The new account is active and has no staff or superuser rights; a
    welcome mail goes out after the response. Too many registrations from one client address
    answer 429 with ``Retry-After``."""
    auth = office.auth(session, Caller.anonymous("api"))
    user = await auth.register(data, address=client_address(request))
    tasks.add_task(office.mailer.deliver, office.mailer.welcome(user))
    return user


@router.get(
    "/",
    response_model=Page[UserPublic],
    dependencies=[require_permission("users", "view")],
    responses={**AUTH, **problem_responses(422)},
)
async def list_users(
    users: UserServiceDep,
    page: Annotated[PageQuery, Depends(page_query(USER_SORT_FIELDS))],
    is_active: Annotated[bool | None, Query()] = None,
    is_staff: Annotated[bool | None, Query()] = None,
    is_superuser: Annotated[bool | None, Query()] = None,
) -> Page[User]:
    """Needs ``users.view``. ``sort``: id, email, username, created_at or last_login
    (``-`` descends)."""
    return await users.list(
        skip=page.skip,
        limit=page.limit,
        search=page.search,
        sort=page.sort,
        is_active=is_active,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )


@router.get("/me", response_model=UserPublic, responses=AUTH)
async def read_me(user: CurrentPerson) -> User:
    return user


@router.patch(
    "/me",
    response_model=UserPublic,
    dependencies=[PERSON],
    responses={**AUTH, **problem_responses(409, 422)},
)
async def update_me(
    data: UserUpdateMe, users: UserServiceDep, office: OfficeDep, tasks: BackgroundTasks
) -> User:
    """A new ``email`` needs ``current_password`` (a wrong or missing one answers 422); the old
    address is told of the change by mail."""
    assert users.caller.user_id is not None
    user = await users.update(users.caller.user_id, data)
    _send_outbox(users, office.mailer, tasks)
    return user


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[PERSON],
    responses={**AUTH, **problem_responses(422)},
)
async def change_my_password(data: PasswordChange, users: UserServiceDep) -> Response:
    """Requires the current password; a wrong one answers 422 on ``current_password`` (not
    401: the token is fine, and a client must not sign out)."""
    assert users.caller.user_id is not None
    await users.change_password(users.caller.user_id, data.current_password, data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/access", response_model=UserAccessPublic, dependencies=[PERSON], responses=AUTH)
async def read_my_access(permissions: PermissionServiceDep) -> UserAccessPublic:
    """Your groups and permissions (``effective``: everything you may do)."""
    assert permissions.caller.user_id is not None
    return await permissions.access_of(permissions.caller.user_id)


@router.get("/{user_id}", response_model=UserPublic, responses={**AUTH, **problem_responses(404)})
async def read_user(user_id: IdPath, users: UserServiceDep, response: Response) -> User:
    """Your own account, or any account with ``users.view``. Its version is the ``ETag``."""
    return tagged(response, await users.get(user_id))


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    dependencies=[require_permission("users", "change")],
    responses={**AUTH, **problem_responses(404, 409, 412, 422, 428)},
)
async def update_user(
    user_id: IdPath,
    data: UserUpdate,
    users: UserServiceDep,
    office: OfficeDep,
    tasks: BackgroundTasks,
    version: IfMatch,
    response: Response,
) -> User:
    """Needs ``users.change``, and an account holding no permission or group you lack.
    Granting or revoking staff or superuser status takes a superuser. A changed email is told
    to the old address."""
    user = await users.update(user_id, data, version=version)
    _send_outbox(users, office.mailer, tasks)
    return tagged(response, user)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_permission("users", "delete")],
    responses={**AUTH, **problem_responses(404, 409, 412, 428)},
)
async def delete_user(user_id: IdPath, users: UserServiceDep, version: IfMatch) -> Response:
    """Needs ``users.delete``, and an account holding no permission or group you lack. The last
    active superuser cannot be deleted."""
    await users.delete(user_id, version=version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{user_id}/access",
    response_model=UserAccessPublic,
    dependencies=[require_permission("users", "view")],
    responses={**AUTH, **problem_responses(404)},
)
async def read_access(user_id: IdPath, permissions: PermissionServiceDep) -> UserAccessPublic:
    """A user's groups, direct permissions and effective permissions. Needs ``users.view``."""
    return await permissions.access_of(user_id)


@router.put(
    "/{user_id}/access",
    response_model=UserAccessPublic,
    dependencies=[require_permission("users", "change")],
    responses={**AUTH, **problem_responses(404, 422)},
)
async def replace_access(
    user_id: IdPath, data: UserAccess, permissions: PermissionServiceDep
) -> UserAccessPublic:
    """Replace a user's groups and direct permissions. Needs ``users.change``, and an account
    holding no permission or group you lack; you may only grant or revoke permissions you hold
    yourself."""
    return await permissions.set_access(user_id, data)


def _send_outbox(users: UserService, mailer: Mailer, tasks: BackgroundTasks) -> None:
    """The service's mail, sent after the response (the change is committed by then)."""
    for mail in users.outbox:
        tasks.add_task(mailer.deliver, mail)
