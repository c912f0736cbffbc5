"""Groups in the admin: a name and a set of permissions, every write through the
``PermissionService`` (which refuses granting what the editor does not hold)."""

from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from wtforms import Form

from backoffice.admin.bulk import BulkActionView
from backoffice.models import Group, GroupCreate, GroupUpdate
from backoffice.services import Caller
from backoffice.services.groups import AUDIT_TYPE

if TYPE_CHECKING:
    from backoffice.office import BackOffice


async def ensure_permission_rows(office: "BackOffice") -> None:
    """Forms list the permission rows: make sure every registered resource has its own."""
    async with office.session() as session:
        await office.permissions(session, Caller.operator("system")).sync_catalogue()


class GroupAdmin(BulkActionView, model=Group):
    name = "Group"
    name_plural = "Groups"
    icon = "fa-solid fa-users"
    permission_resource = "groups"
    audit_type = AUDIT_TYPE  # its History page, as users and posts have

    column_list: ClassVar[list[Any]] = [Group.id, Group.name]
    column_details_list: ClassVar[list[Any]] = [Group.id, Group.name, Group.permissions]
    column_searchable_list: ClassVar[list[Any]] = [Group.name]
    column_sortable_list: ClassVar[list[Any]] = [Group.id, Group.name]
    column_default_sort = (Group.name, False)
    form_columns: ClassVar[list[Any]] = [Group.name, Group.permissions]
    column_labels: ClassVar[dict[Any, str]] = {Group.name: "Name", Group.permissions: "Permissions"}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "permissions": {"description": "Every member of the group holds these."},
    }

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        await ensure_permission_rows(self.office)
        return await super().scaffold_form(rules)

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        async def create(session: Any, caller: Caller) -> Group | None:
            service = self.office.groups(session, caller)
            codes = await service.codes_of(data.get("permissions") or [])
            payload = self.parse(
                GroupCreate, {**data, "permissions": codes}, ["name", "permissions"]
            )
            public = await service.create_group(payload)
            group: Group | None = await session.get(Group, public.id)
            return group

        return await self.run(request, create)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        version = await self.form_version(request)

        async def update(session: Any, caller: Caller) -> Group | None:
            service = self.office.groups(session, caller)
            codes = await service.codes_of(data.get("permissions") or [])
            payload = self.parse(
                GroupUpdate, {**data, "permissions": codes}, ["name", "permissions"]
            )
            public = await service.update_group(int(pk), payload, version=version)
            group: Group | None = await session.get(Group, public.id)
            return group

        return await self.run(request, update)

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda s, c: self.office.groups(s, c).delete_group(int(pk)))
