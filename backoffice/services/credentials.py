"""Refresh tokens, revoked access tokens and admin sessions: the sign-in state that lives in the
database, so that a revocation made through one worker holds on all of them."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import AuthenticationFailed
from backoffice.models import User, utcnow
from backoffice.models.auth import AdminSession, RefreshToken, RevokedAccessToken
from backoffice.services.access import family_marker

INVALID_REFRESH = "The refresh token is invalid, expired or already used; sign in again."
SESSION_ENDED = "The session has ended; please sign in again."
# Recording every request's time would be a write per page view; a minute's precision suffices.
LAST_SEEN_PRECISION = timedelta(seconds=60)
# The longest an access token can live (the setting's bound): a family's marker outlives them all.
ACCESS_TOKEN_MAX_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class Origin:
    """Where a sign-in came from, as its owner is shown it (never used to decide anything)."""

    address: str | None = None
    user_agent: str | None = None

    def clipped(self) -> "Origin":
        return Origin((self.address or "")[:64] or None, (self.user_agent or "")[:200] or None)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    refresh: timedelta
    admin_idle: timedelta
    admin_absolute: timedelta


class CredentialService:
    """Issues and checks the stored credentials. Raw tokens and keys are returned once and
    only their hashes are kept."""

    def __init__(self, session: AsyncSession, lifetimes: Lifetimes | None = None) -> None:
        self.session = session
        self._lifetimes = lifetimes

    @property
    def lifetimes(self) -> Lifetimes:
        if self._lifetimes is None:
            raise RuntimeError("CredentialService needs lifetimes to issue or check credentials")
        return self._lifetimes

    # -- refresh tokens ----------------------------------------------------------------------

    @staticmethod
    def new_family_id() -> str:
        return uuid.uuid4().hex

    async def issue_refresh_token(
        self, user: User, *, family_id: str | None = None, origin: Origin = Origin()
    ) -> str:
        assert user.id is not None
        raw = "rt_" + secrets.token_urlsafe(32)
        now = utcnow()
        origin = origin.clipped()
        self.session.add(
            RefreshToken(
                token_hash=_digest(raw),
                family_id=family_id or self.new_family_id(),
                user_id=user.id,
                issued_at=now,
                expires_at=now + self.lifetimes.refresh,
                address=origin.address,
                user_agent=origin.user_agent,
            )
        )
        await self.session.flush()
        return raw

    async def use_refresh_token(self, raw: str) -> tuple[User, RefreshToken]:
        """Spend a refresh token: it works once. A second use means a copy exists, so the
        whole family is revoked and the error keeps that revocation."""
        token = (
            await self.session.exec(
                select(RefreshToken).where(col(RefreshToken.token_hash) == _digest(raw))
            )
        ).first()
        now = utcnow()
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise AuthenticationFailed(INVALID_REFRESH)
        # Mark it used only if nobody else did first: two concurrent uses cannot both win.
        spent = await self.session.exec(
            update(RefreshToken)
            .where(col(RefreshToken.id) == token.id, col(RefreshToken.used_at).is_(None))
            .values(used_at=now)
        )
        if spent.rowcount != 1:
            await self.revoke_family(token.family_id)
            raise AuthenticationFailed(INVALID_REFRESH).kept()
        user = await self.session.get(User, token.user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed(INVALID_REFRESH)
        return user, token

    async def revoke_family(self, family_id: str) -> None:
        """The family's refresh tokens end, and so do the access tokens issued from it."""
        await self.session.exec(
            update(RefreshToken)
            .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        await self.revoke_access_token(
            family_marker(family_id), utcnow() + ACCESS_TOKEN_MAX_LIFETIME
        )

    async def revoke_refresh_token(self, raw: str, *, user_id: int) -> None:
        """Sign-out: the token's family ends (only the owner's token is honoured)."""
        token = (
            await self.session.exec(
                select(RefreshToken).where(col(RefreshToken.token_hash) == _digest(raw))
            )
        ).first()
        if token is not None and token.user_id == user_id:
            await self.revoke_family(token.family_id)

    # -- access tokens -----------------------------------------------------------------------

    async def revoke_access_token(self, jti: str, expires_at: datetime) -> None:
        # An upsert that ignores a clash: two simultaneous sign-outs with one token both succeed.
        insert = postgresql_insert if self._dialect() == "postgresql" else sqlite_insert
        table = RevokedAccessToken.__table__  # type: ignore[attr-defined]
        await self.session.exec(
            insert(table).values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
        )

    def _dialect(self) -> str:
        return str(self.session.get_bind().dialect.name)

    async def is_access_token_revoked(self, jti: str) -> bool:
        return await self.session.get(RevokedAccessToken, jti) is not None

    # -- admin sessions ----------------------------------------------------------------------

    async def open_admin_session(self, user: User, origin: Origin = Origin()) -> str:
        assert user.id is not None
        raw = secrets.token_urlsafe(32)
        now = utcnow()
        origin = origin.clipped()
        self.session.add(
            AdminSession(
                key_hash=_digest(raw),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.lifetimes.admin_absolute,
                address=origin.address,
                user_agent=origin.user_agent,
            )
        )
        await self.session.flush()
        return raw

    async def admin_session_id(self, raw: object) -> int | None:
        """The id of the session this cookie key opens (to mark "this session" in a list)."""
        if not isinstance(raw, str) or not raw:
            return None
        query = select(AdminSession.id).where(col(AdminSession.key_hash) == _digest(raw))
        return (await self.session.exec(query)).first()

    async def admin_session_user(self, raw: object) -> User:
        """The staff user of a live session; idle, expired, revoked or demoted ends it."""
        if not isinstance(raw, str) or not raw:
            raise AuthenticationFailed(SESSION_ENDED)
        row = (
            await self.session.exec(
                select(AdminSession).where(col(AdminSession.key_hash) == _digest(raw))
            )
        ).first()
        now = utcnow()
        if (
            row is None
            or row.revoked_at is not None
            or row.expires_at <= now
            or row.last_seen_at + self.lifetimes.admin_idle <= now
        ):
            raise AuthenticationFailed(SESSION_ENDED)
        user = await self.session.get(User, row.user_id)
        if user is None or not user.is_admin:
            raise AuthenticationFailed(SESSION_ENDED)
        if now - row.last_seen_at >= LAST_SEEN_PRECISION:
            row.last_seen_at = now
            self.session.add(row)
            await self.session.flush()
        return user

    async def close_admin_session(self, raw: object) -> None:
        if isinstance(raw, str) and raw:
            await self.session.exec(
                update(AdminSession)
                .where(col(AdminSession.key_hash) == _digest(raw))
                .values(revoked_at=utcnow())
            )

    # -- housekeeping ------------------------------------------------------------------------

    async def purge_expired(self) -> dict[str, int]:
        """Delete what can no longer be used: expired or revoked refresh tokens and admin
        sessions, and revoked access tokens past their expiry. Returns counts per table."""
        now = utcnow()
        counts = {}
        for model, dead in (
            (
                RefreshToken,
                or_(col(RefreshToken.expires_at) <= now, col(RefreshToken.revoked_at).is_not(None)),
            ),
            (
                AdminSession,
                or_(col(AdminSession.expires_at) <= now, col(AdminSession.revoked_at).is_not(None)),
            ),
            (RevokedAccessToken, col(RevokedAccessToken.expires_at) <= now),
        ):
            result = await self.session.exec(delete(model).where(dead))
            counts[str(model.__tablename__)] = int(result.rowcount or 0)
        return counts

    # -- everything at once ------------------------------------------------------------------

    async def end_everything_for(
        self,
        user_id: int,
        *,
        keep_admin_session: int | None = None,
        keep_family: str | None = None,
    ) -> int:
        """Every refresh-token family (with the access tokens issued from it) and admin session
        of the user ends, but for the ones to keep ("sign out everywhere else"). Returns how
        many ended."""
        now = utcnow()
        families = (
            await self.session.exec(
                select(RefreshToken.family_id)
                .where(
                    col(RefreshToken.user_id) == user_id,
                    col(RefreshToken.revoked_at).is_(None),
                    col(RefreshToken.family_id) != (keep_family or ""),
                )
                .distinct()
            )
        ).all()
        for family_id in families:
            await self.revoke_family(family_id)
        sessions = update(AdminSession).where(
            col(AdminSession.user_id) == user_id,
            col(AdminSession.revoked_at).is_(None),
            col(AdminSession.id) != (keep_admin_session or 0),
        )
        ended = await self.session.exec(sessions.values(revoked_at=now))
        return len(families) + int(ended.rowcount or 0)
