"""Permissions and groups, the way Django has them: per resource, one permission for each of
view, add, change and delete; users hold permissions directly or through groups."""

from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from backoffice.models.common import NO_NUL, documented, reject_nul, version_field

if TYPE_CHECKING:
    from backoffice.models.users import User

Action = Literal["view", "add", "change", "delete"]
ACTIONS: tuple[Action, ...] = ("view", "add", "change", "delete")
GROUP_NAME_MAX_LENGTH = 150


class GroupPermissionLink(SQLModel, table=True):
    __tablename__ = "group_permission"

    group_id: int = Field(foreign_key="auth_group.id", primary_key=True, ondelete="CASCADE")
    permission_id: int = Field(foreign_key="permission.id", primary_key=True, ondelete="CASCADE")


class UserGroupLink(SQLModel, table=True):
    __tablename__ = "user_group"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    group_id: int = Field(
        foreign_key="auth_group.id", primary_key=True, ondelete="CASCADE", index=True
    )


class UserPermissionLink(SQLModel, table=True):
    __tablename__ = "user_permission"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    permission_id: int = Field(
        foreign_key="permission.id", primary_key=True, ondelete="CASCADE", index=True
    )


class Permission(SQLModel, table=True):
    """One action on one resource, e.g. ``posts.change``. Rows are created from the registry
    (every registered resource gets its four), never by hand."""

    __table_args__ = (UniqueConstraint("resource", "action"),)

    id: int | None = Field(default=None, primary_key=True)
    resource: str = Field(max_length=60)
    action: str = Field(max_length=10)
    name: str = Field(max_length=120)
    """For people: "Can change posts"."""

    @property
    def code(self) -> str:
        return f"{self.resource}.{self.action}"

    def __str__(self) -> str:  # shown in the admin: a person's words, then the code
        return f"{self.name} ({self.code})"


class Group(SQLModel, table=True):
    # "group" is a reserved word in SQL; Django's table has the same name.
    __tablename__ = "auth_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=GROUP_NAME_MAX_LENGTH, unique=True)
    version: int = version_field()
    permissions: list[Permission] = Relationship(
        link_model=GroupPermissionLink,
        sa_relationship_kwargs={"passive_deletes": True, "lazy": "raise_on_sql"},
    )
    users: list["User"] = Relationship(
        back_populates="groups",
        link_model=UserGroupLink,
        sa_relationship_kwargs={"passive_deletes": True, "lazy": "raise_on_sql"},
    )

    def __str__(self) -> str:
        return self.name


class GroupWrite(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        reject_nul(value)
        if not value:
            raise ValueError("must not be blank")
        return value


class GroupCreate(GroupWrite):
    name: str = Field(
        min_length=1, max_length=GROUP_NAME_MAX_LENGTH, schema_extra=documented(**NO_NUL)
    )
    permissions: list[str] = Field(default_factory=list, max_length=1000)
    """Permission codes, ``resource.action``."""


class GroupUpdate(GroupWrite):
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=GROUP_NAME_MAX_LENGTH,
        schema_extra=documented(**NO_NUL),
    )
    permissions: list[str] | None = Field(default=None, max_length=1000)
    """Replaces the group's permissions when given."""


class GroupPublic(SQLModel):
    id: int
    name: str
    permissions: list[str]
    version: int = Field(default=1, exclude=True)
    """The group's version: sent as the ``ETag`` header, not in the body."""


class PermissionPublic(SQLModel):
    id: int
    code: str
    resource: str
    action: str
    name: str


class UserAccess(SQLModel):
    """A user's groups and directly held permissions (what may be assigned)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    groups: list[str] = Field(default_factory=list, max_length=1000)
    """Group names."""
    permissions: list[str] = Field(default_factory=list, max_length=1000)
    """Permission codes held directly, ``resource.action``."""


class UserAccessPublic(UserAccess):
    effective: list[str]
    """Every permission code the user holds, directly or through a group (all, for an active
    superuser)."""
