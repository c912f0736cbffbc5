"""Who may do what: the permission catalogue, groups, and what each user holds.

Rules:
- every registered resource has four permissions (view, add, change, delete), plus
  ``audit.view`` for the audit log; the rows are created from the registry, never by hand;
- active superusers hold every permission; active staff hold what they were given, directly
  or through groups; anyone else holds none (permissions are staff rights, the same in the
  API and the admin);
- nobody grants or takes away a permission they do not hold themselves, so a staff user who
  may change users cannot use that to raise their own rights (Django allows it; we do not);
- nobody changes the groups or permissions of an account that holds more than they do
  (``managing.require_may_manage``, the rule of every change to an account).
"""

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import delete, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from backoffice.models import (
    ACTIONS,
    Group,
    GroupPermissionLink,
    Permission,
    PermissionPublic,
    User,
    UserAccess,
    UserAccessPublic,
    UserGroupLink,
    UserPermissionLink,
)
from backoffice.services.audit import AuditService
from backoffice.services.base import (
    Caller,
    Service,
    permission_codes,
)
from backoffice.services.managing import require_may_manage

T = TypeVar("T")
Catalogue = Sequence[tuple[str, str, str]]
"""(resource, action, name) for every permission there is."""

AUDIT_RESOURCE = "audit"


def catalogue(resources: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """The permissions of ``(name, plural label)`` resources, and the audit log's."""
    entries: list[tuple[str, str, str]] = [
        (name, action, f"Can {action} {label.lower()}")
        for name, label in resources
        for action in ACTIONS
    ]
    entries.append((AUDIT_RESOURCE, "view", "Can view the audit log"))
    return entries


class PermissionService(Service):
    def __init__(self, session: AsyncSession, caller: Caller, catalogue: Catalogue) -> None:
        super().__init__(session, caller)
        self.catalogue = catalogue
        self.audit = AuditService(session, caller)

    # -- the catalogue -----------------------------------------------------------------------

    async def sync_catalogue(self) -> int:
        """Create the permission rows the registry calls for and the table lacks; returns how
        many. One statement, so it is whole even on a read's autocommit session, and
        concurrent callers may race (a row another one created first is skipped, not an
        error). Like Django's, these rows follow from code and are not audited."""
        existing = set(
            (await self.session.exec(select(Permission.resource, Permission.action))).all()
        )
        missing = [
            {"resource": r, "action": a, "name": n}
            for r, a, n in self.catalogue
            if (r, a) not in existing
        ]
        if not missing:
            return 0
        dialect = self.session.get_bind().dialect.name
        upsert: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(
            dialect, insert
        )
        statement = upsert(Permission).values(missing)
        if hasattr(statement, "on_conflict_do_nothing"):
            statement = statement.on_conflict_do_nothing()
        ids = (await self.session.exec(statement.returning(col(Permission.id)))).scalars().all()
        return len(ids)

    async def list_permissions(self) -> list[PermissionPublic]:
        await self._require_any(("groups", "view"), ("users", "change"), what="list permissions")
        await self.sync_catalogue()
        query = select(Permission).order_by(col(Permission.resource), col(Permission.id))
        return [_permission_public(p) for p in (await self.session.exec(query)).all()]

    async def codes_of(self, permission_ids: Iterable[int | str]) -> list[str]:
        """The codes of permission rows named by id (as forms send them)."""
        rows = await self._by_id(Permission, permission_ids, "permissions")
        return sorted(p.code for p in rows)

    async def group_names_of(self, group_ids: Iterable[int | str]) -> list[str]:
        """The names of groups named by id (as forms send them)."""
        return sorted(g.name for g in await self._by_id(Group, group_ids, "groups"))

    async def _by_id(self, model: type[T], raw_ids: Iterable[int | str], field: str) -> list[T]:
        try:
            ids = {int(i) for i in raw_ids}
        except ValueError:
            raise InvalidInput.single(field, "expected a list of ids") from None
        if not ids:
            return []
        column = col(getattr(model, "id"))  # noqa: B009 (generic over models)
        rows = list((await self.session.exec(select(model).where(column.in_(ids)))).all())
        if len(rows) != len(ids):
            raise InvalidInput.single(field, "one of the chosen entries no longer exists")
        return rows

    # -- what a user holds -------------------------------------------------------------------

    async def access_of(self, user_id: int) -> UserAccessPublic:
        """A user's groups, direct permissions and effective permissions."""
        if not self.caller.is_self(user_id):
            await self._require("users", "view")
        user = await self._load_user(user_id)
        return await self._access(user)

    async def set_access(self, user_id: int, data: UserAccess) -> UserAccessPublic:
        """Replace a user's groups and direct permissions."""
        await self._require("users", "change")
        user = await self._load_user(user_id)
        await require_may_manage(self, user)
        before = await self._access(user)
        groups, permissions = await self._groups_and_permissions_named(data)
        added_groups = {g.name for g in groups} ^ set(before.groups)
        group_codes = await self._group_codes(
            [g.id for g in await self._groups_named(added_groups)]
        )
        touched = {p.code for p in permissions} ^ set(before.permissions)
        touched |= {code for codes in group_codes.values() for code in codes}
        await self._require_holds(touched, "grant or revoke")
        await self.session.exec(delete(UserGroupLink).where(col(UserGroupLink.user_id) == user_id))
        await self.session.exec(
            delete(UserPermissionLink).where(col(UserPermissionLink.user_id) == user_id)
        )
        self.session.add_all(UserGroupLink(user_id=user_id, group_id=g.id) for g in groups if g.id)
        self.session.add_all(
            UserPermissionLink(user_id=user_id, permission_id=p.id) for p in permissions if p.id
        )
        await self.session.flush()
        after = await self._access(user)
        changes = {
            key: [getattr(before, key), getattr(after, key)]
            for key in ("groups", "permissions")
            if getattr(before, key) != getattr(after, key)
        }
        if changes:
            await self.audit.record("update", "users", user, changes)
        return after

    # -- helpers -----------------------------------------------------------------------------

    async def _access(self, user: User) -> UserAccessPublic:
        assert user.id is not None
        groups = select(Group.name).join(UserGroupLink).where(col(UserGroupLink.user_id) == user.id)
        direct = (
            select(Permission.resource, Permission.action)
            .join(UserPermissionLink)
            .where(col(UserPermissionLink.user_id) == user.id)
        )
        if user.is_active and user.is_superuser:
            effective = {f"{r}.{a}" for r, a, _ in self.catalogue}
        elif user.is_admin:  # active staff: permissions are staff rights
            effective = await permission_codes(self.session, user.id)
        else:
            effective = set()
        return UserAccessPublic(
            groups=sorted((await self.session.exec(groups)).all()),
            permissions=sorted(f"{r}.{a}" for r, a in (await self.session.exec(direct)).all()),
            effective=sorted(effective),
        )

    async def _require(self, resource: str, action: str) -> None:
        if not await self.may(resource, action):
            raise PermissionDenied(f"You need the {resource}.{action} permission for this.")

    async def _require_any(self, *needed: tuple[str, str], what: str) -> None:
        for resource, action in needed:
            if await self.may(resource, action):
                return
        codes = " or ".join(f"{r}.{a}" for r, a in needed)
        raise PermissionDenied(f"You need the {codes} permission to {what}.")

    async def _require_holds(self, codes: set[str], verb: str) -> None:
        lacking = []
        for code in sorted(codes):
            resource, _, action = code.partition(".")
            if not await self.may(resource, action):
                lacking.append(code)
        if lacking:
            raise PermissionDenied(
                f"You cannot {verb} permissions you do not hold yourself: {', '.join(lacking)}."
            )

    async def _permissions_named(self, codes: Iterable[str], *, field: str) -> list[Permission]:
        wanted = set(codes)
        if not wanted:
            return []
        await self.sync_catalogue()
        rows = (await self.session.exec(select(Permission))).all()
        by_code = {p.code: p for p in rows}
        unknown = sorted(wanted - by_code.keys())
        if unknown:
            raise InvalidInput.single(
                field,
                f"unknown permission {', '.join(repr(u) for u in unknown)}; a permission is "
                "written resource.action, e.g. posts.change (GET /permissions/ lists them)",
            )
        return [by_code[c] for c in sorted(wanted)]

    async def _groups_and_permissions_named(
        self, data: UserAccess
    ) -> tuple[list[Group], list[Permission]]:
        """Both lists resolved, every unknown name of both reported at once."""
        errors: list[FieldError] = []
        groups: list[Group] = []
        permissions: list[Permission] = []
        try:
            groups = await self._groups_named(data.groups)
        except InvalidInput as exc:
            errors.extend(exc.errors)
        try:
            permissions = await self._permissions_named(data.permissions, field="permissions")
        except InvalidInput as exc:
            errors.extend(exc.errors)
        if errors:
            raise InvalidInput(errors)
        return groups, permissions

    async def _groups_named(self, names: Iterable[str]) -> list[Group]:
        wanted = set(names)
        if not wanted:
            return []
        rows = (await self.session.exec(select(Group).where(col(Group.name).in_(wanted)))).all()
        unknown = sorted(wanted - {g.name for g in rows})
        if unknown:
            raise InvalidInput.single(
                "groups", f"no group named {', '.join(repr(u) for u in unknown)}"
            )
        return sorted(rows, key=lambda g: g.name)

    async def _group_codes(self, group_ids: Sequence[int | None]) -> dict[int, set[str]]:
        if not group_ids:
            return {}
        query = (
            select(GroupPermissionLink.group_id, Permission.resource, Permission.action)
            .join(Permission)
            .where(col(GroupPermissionLink.group_id).in_(group_ids))
        )
        codes: dict[int, set[str]] = {}
        for group_id, resource, action in (await self.session.exec(query)).all():
            codes.setdefault(group_id, set()).add(f"{resource}.{action}")
        return codes

    async def _load_user(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        return user


def _permission_public(permission: Permission) -> PermissionPublic:
    assert permission.id is not None
    return PermissionPublic(
        id=permission.id,
        code=permission.code,
        resource=permission.resource,
        action=permission.action,
        name=permission.name,
    )
