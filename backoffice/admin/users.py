"""The user admin: never a hash on any page; every write through ``UserService``."""

from typing import Any, ClassVar

from starlette.requests import Request
from wtforms import Form, PasswordField
from wtforms.validators import InputRequired

from backoffice.admin.views import ServiceModelView
from backoffice.models import User, UserAdminCreate, UserUpdate

EDITABLE = ["email", "username", "full_name", "is_active", "is_staff", "is_superuser"]


class UserAdmin(ServiceModelView, model=User):
    name = "User"
    name_plural = "Users"
    icon = "fa-solid fa-user"

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
    column_details_exclude_list: ClassVar[list[Any]] = [User.hashed_password]
    form_columns: ClassVar[list[Any]] = [getattr(User, name) for name in EDITABLE]

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        if rules is self._form_create_rules:
            # Only the create form asks for a password; it is hashed by the service.
            class UserCreateForm(form):  # type: ignore[valid-type,misc]
                password = PasswordField("Password", validators=[InputRequired()])

            return UserCreateForm
        return form

    async def insert_model(self, request: Request, data: dict[str, Any]) -> User:
        payload = self.parse(UserAdminCreate, data, [*EDITABLE, "password"])
        return await self.run(request, lambda s, c: self.office.users(s, c).create(payload))

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> User:
        payload = self.parse(UserUpdate, data, EDITABLE)
        return await self.run(
            request, lambda s, c: self.office.users(s, c).update(int(pk), payload)
        )

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda s, c: self.office.users(s, c).delete(int(pk)))
