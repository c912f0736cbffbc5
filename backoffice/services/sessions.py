"""Sessions people can see and end: their admin sessions and API sign-ins (refresh-token
families), with when, from where and how recently each was used."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select, update

from backoffice.errors import NotFound, PermissionDenied
from backoffice.models import AdminSession, RefreshToken, User, utcnow
from backoffice.services.base import Service
from backoffice.services.credentials import CredentialService
from backoffice.services.factors import audit_account, came_with_api_key


@dataclass(frozen=True)
class Current:
    """The session the request itself came with, so "everywhere else" spares it."""

    admin_session: int | None = None
    family: str | None = None


@dataclass(frozen=True)
class SignedIn:
    id: str
    """``admin-<n>`` for an admin session, ``api-<family>`` for an API sign-in."""
    kind: Literal["admin", "api"]
    started_at: datetime
    last_used_at: datetime
    address: str | None
    user_agent: str | None
    current: bool


class SessionService(Service):
    async def list(
        self, user_id: int | None = None, current: Current = Current()
    ) -> list[SignedIn]:
        """The live sessions of the caller (or, for a superuser, of ``user_id``), newest use
        first."""
        owner = self._owner(user_id)
        now = utcnow()
        admin_rows = (
            await self.session.exec(
                select(AdminSession).where(
                    col(AdminSession.user_id) == owner,
                    col(AdminSession.revoked_at).is_(None),
                    col(AdminSession.expires_at) > now,
                )
            )
        ).all()
        found = [
            SignedIn(
                id=f"admin-{row.id}",
                kind="admin",
                started_at=row.created_at,
                last_used_at=row.last_seen_at,
                address=row.address,
                user_agent=row.user_agent,
                current=row.id == current.admin_session,
            )
            for row in admin_rows
        ]
        # A family is live while it holds an unspent, unrevoked, unexpired token.
        families = (
            sa_select(
                col(RefreshToken.family_id),
                func.min(col(RefreshToken.issued_at)),
                func.max(col(RefreshToken.issued_at)),
                func.min(col(RefreshToken.address)),
                func.min(col(RefreshToken.user_agent)),
            )
            .where(col(RefreshToken.user_id) == owner, col(RefreshToken.revoked_at).is_(None))
            .group_by(col(RefreshToken.family_id))
            .having(
                func.max(RefreshToken.expires_at) > now,
                func.count() > func.count(col(RefreshToken.used_at)),
            )
        )
        for family, started, last, address, agent in await self._rows(families):
            found.append(
                SignedIn(
                    id=f"api-{family}",
                    kind="api",
                    started_at=_utc(started),
                    last_used_at=_utc(last),
                    address=address,
                    user_agent=agent,
                    current=family == current.family,
                )
            )
        return sorted(found, key=lambda s: s.last_used_at, reverse=True)

    async def end(self, session_id: str, user_id: int | None = None) -> None:
        owner = self._owner(user_id)
        kind, _, key = session_id.partition("-")
        credentials = CredentialService(self.session)
        if kind == "admin" and key.isdigit():
            ended = await self.session.exec(
                update(AdminSession)
                .where(
                    col(AdminSession.id) == int(key),
                    col(AdminSession.user_id) == owner,
                    col(AdminSession.revoked_at).is_(None),
                )
                .values(revoked_at=utcnow())
            )
            if ended.rowcount == 1:
                return
        elif kind == "api" and 0 < len(key) <= 32:
            query = select(RefreshToken.id).where(
                col(RefreshToken.family_id) == key,
                col(RefreshToken.user_id) == owner,
                col(RefreshToken.revoked_at).is_(None),
            )
            if (await self.session.exec(query.limit(1))).first() is not None:
                await credentials.revoke_family(key)
                return
        raise NotFound("No such session.")

    async def end_others(self, current: Current) -> int:
        """ "Sign out everywhere else": every session of the caller but the current one."""
        owner = self._owner(None)
        return await CredentialService(self.session).end_everything_for(
            owner, keep_admin_session=current.admin_session, keep_family=current.family
        )

    async def end_all(self, user_id: int) -> int:
        """A superuser (or the operator) ends every session of another user; audited."""
        if not self.caller.is_superuser or came_with_api_key(self.caller):
            raise PermissionDenied("Only a superuser may end another user's sessions.")
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        count = await CredentialService(self.session).end_everything_for(user_id)
        await audit_account(self.session, self.caller, "sign-out", user, {"sessions": count})
        return count

    async def _rows(self, query: Any) -> "Sequence[Any]":
        connection = await self.session.connection()
        return (await connection.execute(query)).all()

    def _owner(self, user_id: int | None) -> int:
        caller = self.caller
        if came_with_api_key(caller):
            raise PermissionDenied("Sessions are managed by the account's owner signed in.")
        if user_id is not None and user_id != caller.user_id:
            if not caller.is_superuser:
                raise PermissionDenied("Only a superuser may see another user's sessions.")
            return user_id
        if caller.user_id is None:
            raise PermissionDenied("Sign in to see your sessions.")
        return caller.user_id


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
