"""Throttling, stored in the database so every worker counts the same events.

One table, one atomic counter (an upsert), two uses:

- **Sign-in failures**, per account and per client address. An existing account is counted by
  its id, so its email and its username share one budget; any other login is counted by its
  normalised spelling (whether or not an account exists, so the answer tells nothing). Past a
  threshold each further attempt must wait, and the wait doubles with each failure up to a
  ceiling.
- **Quotas**: at most ``limit`` uses of a key (registrations or reset requests from an address,
  reset mails to an account) per window, counted from the window's first use.
"""

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Throttled
from backoffice.models import utcnow
from backoffice.models.auth import LoginThrottle

ADDRESS_KEY_LENGTH = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    address_failures: int = 20
    max_delay_seconds: int = 900
    window_seconds: int = 3600
    quota_window_seconds: int = 3600


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    free_failures: int


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` uses of ``key`` per quota window."""

    key: str
    limit: int

    @classmethod
    def for_address(cls, kind: str, address: str, limit: int) -> "Quota":
        return cls(f"{kind}:{address[:ADDRESS_KEY_LENGTH]}", limit)


class LoginThrottleService:
    def __init__(self, session: AsyncSession, policy: ThrottlePolicy, secret_key: str) -> None:
        self.session = session
        self.policy = policy
        self.secret_key = secret_key

    # -- sign-in failures --------------------------------------------------------------------

    def keys(
        self, login: str, address: str | None, *, user_id: int | None = None
    ) -> list[ThrottleKey]:
        """The account's key (by ``user_id`` when the login names an account, so every
        spelling of it counts together) and the address's key."""
        # The login is keyed, not stored: people sometimes type a password into that field.
        subject = f"id:{user_id}" if user_id is not None else f"login:{login.strip().lower()}"
        keys = [ThrottleKey(f"account:{self._digest(subject)}", self.policy.account_failures)]
        if address:
            keys.append(
                ThrottleKey(f"address:{address[:ADDRESS_KEY_LENGTH]}", self.policy.address_failures)
            )
        return keys

    async def check(self, keys: list[ThrottleKey]) -> set[str]:
        """Raise ``Throttled`` if any key must still wait; else the keys with failures on
        record (so a success resets only what there is: most sign-ins have none)."""
        now = utcnow()
        query = select(LoginThrottle.key, LoginThrottle.locked_until).where(
            col(LoginThrottle.key).in_([k.key for k in keys])
        )
        rows = (await self.session.exec(query)).all()
        waits = [
            (locked_until - now).total_seconds()
            for _, locked_until in rows
            if locked_until is not None and locked_until > now
        ]
        if waits:
            raise Throttled(max(1, math.ceil(max(waits))))
        return {key for key, _ in rows}

    async def record_failure(self, keys: list[ThrottleKey]) -> None:
        now = utcnow()
        for key in keys:
            failures, _ = await self._increment(key.key, now, fixed_window=False)
            excess = failures - key.free_failures
            if excess >= 0:
                delay = min(2**excess, self.policy.max_delay_seconds)
                row = await self.session.get(LoginThrottle, key.key)
                if row is not None:
                    row.locked_until = now + timedelta(seconds=delay)
                    self.session.add(row)
        await self.session.flush()

    async def reset(self, keys: list[ThrottleKey]) -> None:
        await self.session.exec(
            delete(LoginThrottle).where(col(LoginThrottle.key).in_([k.key for k in keys]))
        )

    # -- quotas ------------------------------------------------------------------------------

    def recipient_quota(self, kind: str, email: str, limit: int) -> Quota:
        """A quota per mail recipient, keyed (not stored) like a login, and the same whether
        or not an account has that address."""
        return Quota(f"{kind}:{self._digest(f'email:{email.strip().lower()}')}", limit)

    async def quota_wait(self, quota: Quota) -> int | None:
        """Seconds until ``quota`` has room again, or None if it has room now. Reads only: a
        door asks before costly work (hashing) and counts with ``take`` once it is done."""
        query = select(LoginThrottle.failures, LoginThrottle.last_failure_at).where(
            col(LoginThrottle.key) == quota.key
        )
        row = (await self.session.exec(query)).first()
        return None if row is None else self._wait(quota, row[0], row[1], utcnow())

    async def take(self, quota: Quota) -> int | None:
        """Count one use of ``quota``: None if it fits, else the seconds until there is room.
        Atomic, so concurrent requests never both take the last place."""
        now = utcnow()
        used, started = await self._increment(quota.key, now, fixed_window=True)
        return self._wait(quota, used - 1, started, now)

    async def require(self, quota: Quota, detail: str) -> None:
        """``take``, raising ``Throttled`` (with ``detail``) when the quota is used up."""
        wait = await self.take(quota)
        if wait is not None:
            raise Throttled(wait, detail)

    def _wait(self, quota: Quota, used: int, started: datetime, now: datetime) -> int | None:
        end = started + timedelta(seconds=self.policy.quota_window_seconds)
        if used < quota.limit or end <= now:
            return None
        return max(1, math.ceil((end - now).total_seconds()))

    # -- both --------------------------------------------------------------------------------

    def _digest(self, subject: str) -> str:
        return hmac.new(self.secret_key.encode(), subject.encode(), hashlib.sha256).hexdigest()[:40]

    async def purge_stale(self) -> int:
        """Forget counts older than their window whose wait is over."""
        now = utcnow()
        window = max(self.policy.window_seconds, self.policy.quota_window_seconds)
        cutoff = now - timedelta(seconds=window)
        stale = delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < cutoff,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now),
        )
        result = await self.session.exec(stale)
        return int(result.rowcount or 0)

    async def _increment(
        self, key: str, now: datetime, *, fixed_window: bool
    ) -> tuple[int, datetime]:
        """Atomically add one (an upsert, so two workers never lose a count); returns the count
        and the time it refers to. Sign-in failures keep the time of the last one (failures a
        window apart are forgotten); a quota keeps the start of its window."""
        window = self.policy.quota_window_seconds if fixed_window else self.policy.window_seconds
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        table = LoginThrottle.__table__  # type: ignore[attr-defined]
        stamp = table.c.last_failure_at
        expired = stamp < now - timedelta(seconds=window)
        upsert = insert(table).values(key=key, failures=1, last_failure_at=now)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "last_failure_at": (
                    case((expired, literal(now, stamp.type)), else_=stamp) if fixed_window else now
                ),
            },
        ).returning(table.c.failures, stamp)
        result = await self.session.exec(statement)
        count, started = result.one()
        return int(count), started
