"""The user admin: never a hash on any page; every write through ``UserService``."""

from typing import Any, ClassVar

from sqladmin.filters import BooleanFilter
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from wtforms import Form, PasswordField
from wtforms.validators import InputRequired

from backoffice.admin.bulk import BulkActionView, bulk_action
from backoffice.admin.filters import RecentDateFilter
from backoffice.admin.groups import ensure_permission_rows
from backoffice.models import User, UserAccess, UserAdminCreate, UserUpdate
from backoffice.services import Caller
from backoffice.services.mail import Mail
from backoffice.services.users import AUDIT_TYPE

EDITABLE = ["email", "username", "full_name", "is_active", "is_staff", "is_superuser"]


class UserAdmin(BulkActionView, model=User):
    name = "User"
    name_plural = "Users"
    icon = "fa-solid fa-user"
    permission_resource = "users"
    audit_type = AUDIT_TYPE

    column_list: ClassVar[list[Any]] = [
        User.id,
        User.email,
        User.username,
        User.is_active,
        User.is_staff,
        User.is_superuser,
        User.last_login,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        User.id: "ID",
        User.email: "Email",
        User.username: "Username",
        User.full_name: "Full name",
        User.is_active: "Active",
        User.is_staff: "Staff",
        User.is_superuser: "Superuser",
        User.last_login: "Last login",
        User.created_at: "Joined",
        User.groups: "Groups",
        User.user_permissions: "Permissions",
        User.updated_at: "Updated",
    }
    column_searchable_list: ClassVar[list[Any]] = [User.email, User.username, User.full_name]
    column_sortable_list: ClassVar[list[Any]] = [
        User.id,
        User.email,
        User.username,
        User.last_login,
        User.created_at,
    ]
    column_default_sort = (User.id, False)
    column_filters: ClassVar[list[Any]] = [
        BooleanFilter("is_active", title="Active"),
        BooleanFilter("is_staff", title="Staff"),
        BooleanFilter("is_superuser", title="Superuser"),
        RecentDateFilter(User.created_at, title="Joined"),
    ]
    column_details_exclude_list: ClassVar[list[Any]] = [
        User.hashed_password,
        User.deleted_at,  # a user in the trash has no details page (admin.trash lists it)
        User.deleted_by,
    ]
    # The export never writes hashed_password, even if named here (secret-looking names are
    # dropped by the export itself).
    column_export_list: ClassVar[list[Any]] = [
        User.id,
        User.email,
        User.username,
        User.full_name,
        User.is_active,
        User.is_staff,
        User.is_superuser,
        User.last_login,
        User.created_at,
        User.updated_at,
    ]
    form_columns: ClassVar[list[Any]] = [
        *(getattr(User, name) for name in EDITABLE),
        User.groups,
        User.user_permissions,
    ]
    fieldsets: ClassVar[list[tuple[str, list[str]]]] = [
        ("Account", ["email", "username", "full_name", "password", "current_password"]),
        ("Status", ["is_active", "is_staff", "is_superuser"]),
        ("Groups and permissions", ["groups", "user_permissions"]),
    ]
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "groups": {"description": "The user holds every permission of each group chosen."},
        "user_permissions": {"description": "Permissions of this user alone, besides groups."},
    }

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        await ensure_permission_rows(self.office)
        form = await super().scaffold_form(rules)
        if rules is self._form_create_rules:
            # Only the create form asks for a password; it is hashed by the service.
            class UserCreateForm(form):  # type: ignore[valid-type,misc]
                password = PasswordField(
                    "Password",
                    validators=[InputRequired()],
                    render_kw={"class": "form-control", "autocomplete": "new-password"},
                )

            return UserCreateForm

        # The service asks for it when a user changes their own email address.
        class UserEditForm(form):  # type: ignore[valid-type,misc]
            current_password = PasswordField(
                "Your current password",
                description="Needed only to change the email address of your own account.",
                render_kw={"class": "form-control", "autocomplete": "current-password"},
            )

        return UserEditForm

    async def insert_model(self, request: Request, data: dict[str, Any]) -> User:
        payload = self.parse(UserAdminCreate, data, [*EDITABLE, "password"])

        async def create(session: AsyncSession, caller: Caller) -> User:
            user = await self.office.users(session, caller).create(payload)
            assert user.id is not None
            if data.get("groups") or data.get("user_permissions"):
                await self._set_access(session, caller, user.id, data)
            return user

        return await self.run(request, create)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> User:
        payload = self.parse(UserUpdate, data, [*EDITABLE, "current_password"])
        version = await self.form_version(request)
        outbox: list[Mail] = []

        async def update(session: AsyncSession, caller: Caller) -> User:
            users = self.office.users(session, caller)
            user = await users.update(int(pk), payload, version=version)
            await self._set_access(session, caller, int(pk), data)
            outbox.extend(users.outbox)
            return user

        user = await self.run(request, update)
        for mail in outbox:  # once committed (SQLAdmin builds the response: no background)
            self.office.mailer.deliver_soon(mail)
        return user

    async def _set_access(
        self, session: AsyncSession, caller: Caller, user_id: int, data: dict[str, Any]
    ) -> None:
        """The memberships chosen on the form, in the same unit of work as the user's fields."""
        permissions = self.office.permissions(session, caller)
        current = await permissions.access_of(user_id)
        access = UserAccess(
            groups=await permissions.group_names_of(data.get("groups") or []),
            permissions=await permissions.codes_of(data.get("user_permissions") or []),
        )
        if (access.groups, access.permissions) != (current.groups, current.permissions):
            await permissions.set_access(user_id, access)

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda s, c: self.office.users(s, c).delete(int(pk)))

    # -- bulk actions (the list's Actions menu; each row through UserService) -------------------

    @bulk_action("Activate selected", permission="change", done="Activated")
    async def activate_selected(self, request: Request, pk: int) -> None:
        await self._set_active(request, pk, active=True)

    @bulk_action("Deactivate selected", permission="change", done="Deactivated")
    async def deactivate_selected(self, request: Request, pk: int) -> None:
        await self._set_active(request, pk, active=False)

    async def _set_active(self, request: Request, pk: int, *, active: bool) -> None:
        payload = UserUpdate(is_active=active)
        await self.run(request, lambda s, c: self.office.users(s, c).update(pk, payload))

    def bulk_row_label(self, obj: Any) -> str:
        return f"{obj.username} <{obj.email}>"
