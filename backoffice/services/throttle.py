"""Login throttling, stored in the database so every worker counts the same failures.

Failures are counted per account name (whether or not the account exists, so the answer tells
nothing) and, separately, per client address. Past a threshold each further attempt must wait,
and the wait doubles with each failure up to a ceiling.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import Throttled
from backoffice.models import utcnow
from backoffice.models.auth import LoginThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    address_failures: int = 20
    max_delay_seconds: int = 900
    window_seconds: int = 3600


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    free_failures: int


class LoginThrottleService:
    def __init__(self, session: AsyncSession, policy: ThrottlePolicy, secret_key: str) -> None:
        self.session = session
        self.policy = policy
        self.secret_key = secret_key

    def keys(self, login: str, address: str | None) -> list[ThrottleKey]:
        # The login is keyed, not stored: people sometimes type a password into that field.
        digest = hmac.new(
            self.secret_key.encode(), login.strip().lower().encode(), hashlib.sha256
        ).hexdigest()[:40]
        keys = [ThrottleKey(f"account:{digest}", self.policy.account_failures)]
        if address:
            keys.append(ThrottleKey(f"address:{address[:64]}", self.policy.address_failures))
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
            raise Throttled(max(1, int(max(waits) + 0.999)))
        return {key for key, _ in rows}

    async def record_failure(self, keys: list[ThrottleKey]) -> None:
        now = utcnow()
        for key in keys:
            failures = await self._increment(key.key, now)
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

    async def purge_stale(self) -> int:
        """Forget failures older than the window whose wait is over."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.policy.window_seconds)
        stale = delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < cutoff,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now),
        )
        result = await self.session.exec(stale)
        return int(result.rowcount or 0)

    async def _increment(self, key: str, now: datetime) -> int:
        """Atomically add one failure (an upsert, so two workers never lose a count)."""
        cutoff = now - timedelta(seconds=self.policy.window_seconds)
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        table = LoginThrottle.__table__  # type: ignore[attr-defined]
        upsert = insert(table).values(key=key, failures=1, last_failure_at=now)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((table.c.last_failure_at < cutoff, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        ).returning(table.c.failures)
        result = await self.session.exec(statement)
        return int(result.scalar_one())
