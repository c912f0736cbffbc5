"""API keys for machines: who may create, see and revoke them, and what a new one may hold.

A key acts as its owner narrowed to its scopes (``Caller.scopes``, checked per request by
``Service.may``). Keys are managed by people: a caller holding a key may not create, list or
revoke keys. Every create and revoke is audited; the key itself is never recorded.
"""

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false
from sqlmodel import col, select

from backoffice.errors import InvalidInput, NotFound, PermissionDenied
from backoffice.models import Page, Permission, User, utcnow
from backoffice.models.api_keys import ApiKey, ApiKeyCreate
from backoffice.security.api_keys import api_key_hash, display_prefix, new_api_key
from backoffice.services.audit import AuditService
from backoffice.services.base import Caller, Service, holds, parse_sort, permission_codes
from backoffice.services.locking import lock_rows

AUDIT_TYPE = "api_keys"
API_KEY_SORT_FIELDS = frozenset({"id", "name", "created_at", "expires_at", "last_used_at"})
NOT_FOR_KEYS = "An API key cannot create, list or revoke API keys; a person must."


@dataclass(frozen=True)
class ApiKeyPolicy:
    hash_key: bytes
    max_lifetime: timedelta
    codes: frozenset[str]
    """Every permission code there is (the catalogue)."""


@dataclass(frozen=True)
class NewApiKey:
    """A created key: the row, and the key itself, to be shown once."""

    row: ApiKey
    key: str


class ApiKeyService(Service):
    def __init__(self, session: Any, caller: Caller, policy: ApiKeyPolicy) -> None:
        super().__init__(session, caller)
        self.policy = policy
        self.audit = AuditService(session, caller)

    # -- who may -----------------------------------------------------------------------------

    def _require_person(self) -> None:
        caller = self.caller
        if caller.via_api_key:
            raise PermissionDenied(NOT_FOR_KEYS)
        if not caller.trusted and not caller.is_admin:
            raise PermissionDenied("API keys are for active staff accounts.")

    async def may_read(self) -> bool:
        return not self.caller.via_api_key and self.caller.is_admin

    async def visible(self) -> builtins.list[ColumnElement[bool]]:
        """A superuser (and the operator) sees every key; anyone else their own."""
        if self.caller.is_superuser:
            return []
        if self.caller.is_person and self.caller.is_admin:
            return [col(ApiKey.user_id) == self.caller.user_id]
        return [false()]

    async def permits(self, action: Any, obj: Any) -> bool:
        return self.caller.is_superuser or (
            self.caller.is_person and getattr(obj, "user_id", None) == self.caller.user_id
        )

    # -- reading -----------------------------------------------------------------------------

    async def list(
        self,
        *,
        skip: int = 0,
        limit: int = 50,
        sort: str | None = None,
        user_id: int | None = None,
        active_only: bool = False,
    ) -> Page[ApiKey]:
        self._require_person()
        conditions = await self.visible()
        if user_id is not None:
            conditions.append(col(ApiKey.user_id) == user_id)
        if active_only:
            conditions += [col(ApiKey.revoked_at).is_(None), col(ApiKey.expires_at) > utcnow()]
        order = parse_sort(sort, API_KEY_SORT_FIELDS, "-id")
        return await self.fetch_page(ApiKey, conditions, order, skip=skip, limit=limit)

    async def get(self, key_id: int) -> ApiKey:
        self._require_person()
        key = await self.session.get(ApiKey, key_id)
        if key is None or not await self.permits("view", key):
            raise NotFound(f"API key {key_id} does not exist.")
        return key

    async def owners(self, keys: Sequence[ApiKey]) -> dict[int, User]:
        """The owners of these keys (for a listing), by id."""
        ids = sorted({key.user_id for key in keys})
        if not ids:
            return {}
        users = await self.session.exec(select(User).where(col(User.id).in_(ids)))
        return {user.id: user for user in users if user.id is not None}

    async def grantable(self, owner_id: int | None = None) -> builtins.list[str]:
        """The scopes a key of ``owner_id`` (default: the caller) may name, sorted."""
        self._require_person()
        owner = await self._owner(owner_id)
        return sorted(await self._held(owner))

    # -- writing -----------------------------------------------------------------------------

    async def create(self, data: ApiKeyCreate) -> NewApiKey:
        """A new key for ``data.user_id`` (default the caller). Its scopes must be permissions
        the owner holds; it must expire, within ``api_key_max_lifetime_days``."""
        self._require_person()
        owner = await self._owner(data.user_id)
        assert owner.id is not None
        expires_at = self._check_expiry(data.expires_at)
        held = await self._held(owner)
        known = await self._known_codes()
        unknown = [s for s in data.scopes if s not in known]
        if unknown:
            raise InvalidInput.single("scopes", f"no such permission: {', '.join(unknown[:5])}")
        lacking = [s for s in data.scopes if not holds(held, *s.split(".", 1))]
        if lacking:
            whose = "you do" if owner.id == self.caller.user_id else f"{owner.username} does"
            raise InvalidInput.single(
                "scopes",
                f"a key may only hold permissions its owner holds; {whose} not hold: "
                + ", ".join(lacking[:5]),
            )
        key = new_api_key()
        row = ApiKey(
            user_id=owner.id,
            name=data.name,
            prefix=display_prefix(key),
            key_hash=api_key_hash(key, self.policy.hash_key),
            scopes=list(data.scopes),
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.flush_unique({"key_hash": "Could not create the key; try again."})
        await self.audit.record(
            "create",
            AUDIT_TYPE,
            row,
            {
                "user_id": [None, row.user_id],
                "name": [None, row.name],
                "prefix": [None, row.prefix],
                "scopes": [None, row.scopes],
                "expires_at": [None, expires_at.isoformat()],
            },
        )
        return NewApiKey(row, key)

    async def revoke(self, key_id: int) -> ApiKey:
        """The key stops working now. Revoking a revoked key changes nothing."""
        key = await self.get(key_id)
        await self._revoke([key])
        return key

    async def revoke_many(self, key_ids: Sequence[int]) -> int:
        """Revoke each of these keys the caller may see; returns how many were revoked now."""
        self._require_person()
        if not key_ids:
            return 0
        keys = await lock_rows(
            self.session, ApiKey, col(ApiKey.id).in_(list(key_ids)), *await self.visible()
        )
        return await self._revoke(keys)

    async def _revoke(self, keys: Sequence[ApiKey]) -> int:
        now = utcnow()
        revoked = 0
        for key in keys:
            if key.revoked_at is not None:
                continue
            key.revoked_at = now
            self.session.add(key)
            await self.session.flush()
            await self.audit.record(
                "revoke", AUDIT_TYPE, key, {"revoked_at": [None, now.isoformat()]}
            )
            revoked += 1
        return revoked

    # -- helpers -----------------------------------------------------------------------------

    async def _owner(self, owner_id: int | None) -> User:
        caller = self.caller
        if owner_id is None or owner_id == caller.user_id:
            if caller.user is None:
                raise InvalidInput.single("user_id", "name the user the key is for")
            owner_id = caller.user_id
        elif not caller.is_superuser:
            raise PermissionDenied("Only a superuser can manage another user's API keys.")
        owner = await self.session.get(User, owner_id)
        if owner is None:
            raise NotFound(f"User {owner_id} does not exist.")
        if not owner.is_admin:
            raise InvalidInput.single(
                "user_id",
                f"{owner.username} is not active staff: a key holds its owner's staff "
                "permissions, and this account has none",
            )
        return owner

    async def _held(self, owner: User) -> set[str]:
        assert owner.id is not None
        if owner.is_superuser:
            return await self._known_codes()
        return await permission_codes(self.session, owner.id)

    async def _known_codes(self) -> set[str]:
        """This office's catalogue, and every permission stored: the command line's office
        knows no host app's resources, but their permissions are in the table."""
        stored = await self.session.exec(select(Permission.resource, Permission.action))
        return set(self.policy.codes) | {f"{r}.{a}" for r, a in stored.all()}

    def _check_expiry(self, expires_at: datetime) -> datetime:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        expires_at = expires_at.astimezone(UTC)
        now = utcnow()
        latest = now + self.policy.max_lifetime
        if expires_at <= now:
            raise InvalidInput.single("expires_at", "must be in the future")
        if expires_at > latest:
            days = self.policy.max_lifetime.days
            raise InvalidInput.single(
                "expires_at", f"must be at most {days} days from now ({latest.date().isoformat()})"
            )
        return expires_at
