"""API keys back to callers: the check every request made with a key runs.

Like an access token's check (``services/access.py``) it is one Core statement on the request's
connection: the key's row and its owner's, found by the key's keyed hash (a fast HMAC, see
``security/api_keys.py``). The owner's permissions are read when a service first asks
(``Service.may``), as for a token, so a key costs what a token costs. Everything that ends a
key is looked at on every request: revocation, expiry, the owner's active and staff status,
and (through ``Service.may``) the owner's current permissions.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backoffice.errors import AuthenticationFailed
from backoffice.models import User, utcnow
from backoffice.models.api_keys import ApiKey
from backoffice.security.api_keys import KEY_MAX_LENGTH, api_key_hash, hashes_match

INVALID_KEY = "Could not validate credentials."
LAST_USED_PRECISION = timedelta(seconds=60)
"""At most one write per key per minute: a busy key does not write on every request."""
ADDRESS_MAX_LENGTH = 64

_users = User.__table__  # type: ignore[attr-defined]
_keys = ApiKey.__table__  # type: ignore[attr-defined]
_LOOKUP = (
    select(
        _users,
        _keys.c.id.label("key_id"),
        _keys.c.key_hash.label("key_hash"),
        _keys.c.scopes.label("key_scopes"),
        _keys.c.expires_at.label("key_expires_at"),
        _keys.c.revoked_at.label("key_revoked_at"),
        _keys.c.last_used_at.label("key_last_used_at"),
    )
    .join_from(_keys, _users, _keys.c.user_id == _users.c.id)
    .where(_keys.c.key_hash == bindparam("key_hash"))
)
_TOUCH = (
    update(_keys)
    .where(
        _keys.c.id == bindparam("key_id"),
        or_(_keys.c.last_used_at.is_(None), _keys.c.last_used_at < bindparam("cutoff")),
    )
    .values(last_used_at=bindparam("now"), last_used_address=bindparam("address"))
)


@dataclass(frozen=True)
class ApiKeyGrant:
    """A key that works now: whose it is and what it may name."""

    user: User
    key_id: int
    scopes: frozenset[str]


async def read_api_key_grant(
    connection: AsyncConnection, key: str, *, hash_key: bytes, address: str | None
) -> ApiKeyGrant:
    """The owner and scopes of a working key, else ``AuthenticationFailed``; notes the use."""
    if len(key) > KEY_MAX_LENGTH:
        raise AuthenticationFailed(INVALID_KEY)
    digest = api_key_hash(key, hash_key)
    row = (await connection.execute(_LOOKUP, {"key_hash": digest})).mappings().first()
    now = utcnow()
    if (
        row is None
        or not hashes_match(row["key_hash"], digest)
        or row["key_revoked_at"] is not None
        or row["key_expires_at"] <= now
        or not row["is_active"]
        or not (row["is_staff"] or row["is_superuser"])  # keys carry staff rights only
    ):
        raise AuthenticationFailed(INVALID_KEY)
    await _note_use(connection, row["key_id"], row["key_last_used_at"], now, address)
    fields = {column.name: row[column.name] for column in _users.columns}
    return ApiKeyGrant(User(**fields), int(row["key_id"]), frozenset(row["key_scopes"] or ()))


async def _note_use(
    connection: AsyncConnection,
    key_id: int,
    last_used_at: datetime | None,
    now: datetime,
    address: str | None,
) -> None:
    cutoff = now - LAST_USED_PRECISION
    if last_used_at is not None and last_used_at >= cutoff:
        return
    # Conditional, so of many requests racing past the read above only one writes.
    await connection.execute(
        _TOUCH,
        {
            "key_id": key_id,
            "cutoff": cutoff,
            "now": now,
            "address": address[:ADDRESS_MAX_LENGTH] if address else None,
        },
    )
