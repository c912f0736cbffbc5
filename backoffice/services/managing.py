"""Who may manage whose account: the one rule every door applies before changing an account
(its password, email, username, flags, groups or permissions), ending its sessions or
deleting it.

Nobody manages an account that holds more than they do. Otherwise a staff user with
``users.change`` could set the password (or the email, then ask for a reset link) of a more
privileged account and sign in as it. So the target's effective permissions (direct and through
groups) must all be held by the caller, and its groups must all be groups the caller belongs to.
Superusers hold everything, but a superuser account is managed by superusers only. The operator
at the command line may do anything, and everyone manages their own account as before.
"""

from sqlmodel import col, select

from backoffice.errors import PermissionDenied
from backoffice.models import Group, User, UserGroupLink
from backoffice.services.base import Service, permission_codes

SUPERUSER_ONLY = "Only a superuser can change or delete a superuser account."
NAMED_AT_MOST = 3
"""How many of the permissions or groups at fault a refusal names."""


async def require_may_manage(service: Service, user: User) -> None:
    """Refuse (``PermissionDenied``) if ``service.caller`` may not manage ``user``'s account."""
    caller = service.caller
    if caller.trusted or caller.is_self(user.id):
        return
    if user.is_superuser:
        if not caller.is_superuser:
            raise PermissionDenied(SUPERUSER_ONLY)
        return
    if caller.is_superuser:
        return
    assert user.id is not None
    lacking = []
    for code in sorted(await permission_codes(service.session, user.id)):
        resource, _, action = code.partition(".")
        if not await service.may(resource, action):
            lacking.append(code)
    # The codes and group names are named only to whoever may see them anyway (users.view
    # shows any account's access).
    named = await service.may("users", "view")
    if lacking:
        raise PermissionDenied(
            f"This account holds permissions you do not hold{_few(lacking, named)}."
        )
    foreign = sorted(
        await _group_names(service, user.id) - await _group_names(service, caller.user_id)
    )
    if foreign:
        raise PermissionDenied(
            f"This account belongs to groups you are not a member of{_few(foreign, named)}."
        )


async def _group_names(service: Service, user_id: int | None) -> set[str]:
    if user_id is None:
        return set()
    query = select(Group.name).join(UserGroupLink).where(col(UserGroupLink.user_id) == user_id)
    return set((await service.session.exec(query)).all())


def _few(names: list[str], named: bool) -> str:
    """`` (a, b, c and 2 more)``, or nothing if the caller may not see them."""
    if not named:
        return ""
    shown = ", ".join(names[:NAMED_AT_MOST])
    more = len(names) - NAMED_AT_MOST
    return f" ({shown} and {more} more)" if more > 0 else f" ({shown})"
