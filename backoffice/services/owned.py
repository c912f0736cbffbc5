"""The common case "a row belongs to a user", as a service to subclass.

``OwnedService`` with ``owner_field = "member_id"``: whoever holds the resource's permissions
works on every row as before; anyone else who is signed in works on their own rows only —
they list and see only rows whose owner is them (``visible``), may do ``owner_actions`` to
those, and what they add is theirs (the owner field is filled in, and naming someone else is
refused). Every door applies it, as any service rule.
"""

from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, false
from sqlmodel import col

from backoffice.errors import PermissionDenied
from backoffice.models.permissions import Action
from backoffice.services.resources import ResourceService


class OwnedService(ResourceService):
    owner_field: ClassVar[str]
    """The column naming the owning user (a foreign key to ``user.id``)."""

    owner_actions: ClassVar[frozenset[str]] = frozenset({"view", "add", "change", "delete"})
    """What an owner may do to their own rows without the resource's permission."""

    async def granted(self, action: Action) -> bool:
        """Does the caller hold the resource's own permission (every row)?"""
        return await ResourceService.has_permission(self, action)

    async def has_permission(self, action: Action, obj: Any = None) -> bool:
        if await self.granted(action):
            return True
        user_id = self.caller.own_id  # an API key holds its scopes, not an owner's rights
        if user_id is None or action not in self.owner_actions:
            return False
        return obj is None or getattr(obj, self.owner_field) == user_id

    async def visible(self) -> list[ColumnElement[bool]]:
        conditions = list(await super().visible())
        if not await self.granted("view"):
            owner = col(getattr(self.model, self.owner_field))
            user_id = self.caller.own_id
            conditions.append(owner == user_id if user_id is not None else false())
        return conditions

    async def create(self, data: BaseModel | dict[str, Any]) -> Any:
        if not await self.granted("add"):
            data = self._owned(data, required=True)
        return await super().create(data)

    async def update(
        self, pk: int, data: BaseModel | dict[str, Any], *, version: int | None = None
    ) -> Any:
        if not await self.granted("change"):
            data = self._owned(data, required=False)
        return await super().update(pk, data, version=version)

    def _owned(self, data: BaseModel | dict[str, Any], *, required: bool) -> dict[str, Any]:
        """``data`` as one's own row: the owner filled in (on create), never someone else."""
        values = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else dict(data)
        owner = values.get(self.owner_field)
        if owner is None and required:
            values[self.owner_field] = self.caller.user_id
        elif owner is not None and owner != self.caller.user_id:
            raise PermissionDenied(
                f"You may only give yourself as the {self.owner_field.removesuffix('_id')} of "
                f"a {self.resource.label.lower()}."
            )
        return values
