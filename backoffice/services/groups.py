"""Groups: a name and a set of permissions, which their members hold.

The rules of ``PermissionService`` apply: nobody puts into a group, or takes out of one, a
permission they do not hold, and deleting a group revokes its permissions from its members.
"""

from typing import Any

from sqlalchemy import ColumnElement, delete, func
from sqlmodel import col, select

from backoffice.errors import Conflict, NotFound
from backoffice.models import (
    Group,
    GroupCreate,
    GroupPermissionLink,
    GroupPublic,
    GroupUpdate,
    Page,
    Permission,
)
from backoffice.services.base import like_pattern, parse_sort
from backoffice.services.permissions import PermissionService
from backoffice.services.versions import check_current, claim

AUDIT_TYPE = "groups"
GROUP_SORT_FIELDS = frozenset({"id", "name"})
GROUP_UNIQUE = {"name": "A group with this name already exists."}


class GroupService(PermissionService):
    async def may_read(self) -> bool:
        return await self.may("groups", "view")

    async def list_groups(
        self, *, skip: int = 0, limit: int = 50, search: str | None = None, sort: str | None = None
    ) -> Page[GroupPublic]:
        await self._require("groups", "view")
        conditions: list[ColumnElement[bool]] = []
        if search:
            pattern = like_pattern(search.strip().lower())
            conditions.append(func.lower(col(Group.name)).like(pattern, escape="\\"))
        order = parse_sort(sort, GROUP_SORT_FIELDS, "name")
        page = await self.fetch_page(Group, conditions, order, skip=skip, limit=limit)
        codes = await self._group_codes([g.id for g in page.items if g.id is not None])
        items = [
            GroupPublic(
                id=g.id,
                name=g.name,
                permissions=sorted(codes.get(g.id, ())),
                version=g.version,
            )
            for g in page.items
            if g.id is not None
        ]
        return Page(
            items=items,
            total=page.total,
            total_is_exact=page.total_is_exact,
            skip=page.skip,
            limit=page.limit,
        )

    async def get_group(self, group_id: int) -> GroupPublic:
        await self._require("groups", "view")
        group = await self._load_group(group_id)
        return await self._group_public(group)

    async def create_group(self, data: GroupCreate) -> GroupPublic:
        await self._require("groups", "add")
        permissions = await self._permissions_named(data.permissions, field="permissions")
        await self._require_holds({p.code for p in permissions}, "grant")
        await self._check_group_name(data.name)
        group = Group(name=data.name)
        self.session.add(group)
        await self.flush_unique(GROUP_UNIQUE)
        assert group.id is not None
        await self._set_group_permissions(group.id, permissions)
        public = await self._group_public(group)
        changes = {"name": [None, group.name], "permissions": [[], public.permissions]}
        await self.audit.record("create", AUDIT_TYPE, group, changes)
        return public

    async def update_group(
        self, group_id: int, data: GroupUpdate, *, version: int | None = None
    ) -> GroupPublic:
        """Rename a group or set its permissions; with ``version``, only if nobody has saved
        since (``Stale``, nothing written)."""
        await self._require("groups", "change")
        group = await self._load_group(group_id)
        before = await self._group_public(group)
        values = data.model_dump(exclude_unset=True)
        renames = values.get("name") is not None and values["name"] != group.name
        permissions = None
        if values.get("permissions") is not None:
            permissions = await self._permissions_named(values["permissions"], field="permissions")
            after = {p.code for p in permissions}
            await self._require_holds(after ^ set(before.permissions), "grant or revoke")
            if after == set(before.permissions):
                permissions = None
        label = f"Group {group_id}"
        if not renames and permissions is None:
            check_current(group, version, label)
            return before
        if renames:
            await self._check_group_name(values["name"], exclude_id=group_id)
        await claim(self.session, group, version, label)
        changes: dict[str, Any] = {}
        if renames:
            changes["name"] = [group.name, values["name"]]
            group.name = values["name"]
            self.session.add(group)
            await self.flush_unique(GROUP_UNIQUE)
        if permissions is not None:
            await self._set_group_permissions(group_id, permissions)
            changes["permissions"] = [before.permissions, sorted(p.code for p in permissions)]
        await self.audit.record("update", AUDIT_TYPE, group, changes)
        return await self._group_public(group)

    async def delete_group(self, group_id: int, *, version: int | None = None) -> None:
        """Delete a group; with ``version``, only if nobody has saved since (``Stale``)."""
        await self._require("groups", "delete")
        group = await self._load_group(group_id)
        public = await self._group_public(group)
        # Deleting a group takes its permissions from its members: the same as revoking them.
        await self._require_holds(set(public.permissions), "revoke")
        if version is not None:
            await claim(self.session, group, version, f"Group {group_id}")
        changes = {"name": [group.name, None], "permissions": [public.permissions, []]}
        await self.audit.record("delete", AUDIT_TYPE, group, changes)
        await self.session.delete(group)
        await self.session.flush()

    # -- helpers -----------------------------------------------------------------------------

    async def _group_public(self, group: Group) -> GroupPublic:
        assert group.id is not None
        codes = await self._group_codes([group.id])
        return GroupPublic(
            id=group.id,
            name=group.name,
            permissions=sorted(codes.get(group.id, ())),
            version=group.version,
        )

    async def _set_group_permissions(self, group_id: int, permissions: list[Permission]) -> None:
        await self.session.exec(
            delete(GroupPermissionLink).where(col(GroupPermissionLink.group_id) == group_id)
        )
        self.session.add_all(
            GroupPermissionLink(group_id=group_id, permission_id=p.id) for p in permissions if p.id
        )
        await self.session.flush()

    async def _check_group_name(self, name: str, exclude_id: int | None = None) -> None:
        query = select(Group.id).where(col(Group.name) == name)
        if exclude_id is not None:
            query = query.where(col(Group.id) != exclude_id)
        if (await self.session.exec(query)).first() is not None:
            raise Conflict(GROUP_UNIQUE["name"], field="name")

    async def _load_group(self, group_id: int) -> Group:
        group = await self.session.get(Group, group_id)
        if group is None:
            raise NotFound(f"Group {group_id} does not exist.")
        return group
