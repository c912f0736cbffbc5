"""Short-lived, single-use challenges: a sign-in waiting for its second factor, a passkey
ceremony waiting for the browser's answer. Stored in the database so any worker can finish
what another began; the raw key is handed out once and only its hash is kept."""

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import AuthenticationFailed
from backoffice.models import SignInChallenge, utcnow

SECOND_FACTOR = "second-factor"
PASSKEY_REGISTER = "passkey-register"
PASSKEY_SIGN_IN = "passkey-sign-in"
INVALID_CHALLENGE = "This sign-in has expired or was already used; start again."


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ChallengeStore:
    def __init__(self, session: AsyncSession, lifetime: timedelta) -> None:
        self.session = session
        self.lifetime = lifetime

    async def issue(
        self, purpose: str, *, user_id: int | None = None, webauthn_challenge: str | None = None
    ) -> str:
        raw = "ch_" + secrets.token_urlsafe(32)
        now = utcnow()
        self.session.add(
            SignInChallenge(
                key_hash=_digest(raw),
                purpose=purpose,
                user_id=user_id,
                webauthn_challenge=webauthn_challenge,
                created_at=now,
                expires_at=now + self.lifetime,
            )
        )
        await self.session.flush()
        return raw

    async def find(self, raw: object, purpose: str) -> SignInChallenge:
        """The live challenge ``raw`` names, for ``purpose``; ``AuthenticationFailed`` if it
        is unknown, spent or expired."""
        if not isinstance(raw, str) or not raw or len(raw) > 200:
            raise AuthenticationFailed(INVALID_CHALLENGE)
        row = (
            await self.session.exec(
                select(SignInChallenge).where(col(SignInChallenge.key_hash) == _digest(raw))
            )
        ).first()
        if (
            row is None
            or row.purpose != purpose
            or row.used_at is not None
            or row.expires_at <= utcnow()
        ):
            raise AuthenticationFailed(INVALID_CHALLENGE)
        return row

    async def spend(self, challenge: SignInChallenge) -> None:
        """Mark it used; of two concurrent spends only one succeeds, the other fails."""
        result = await self.session.exec(
            update(SignInChallenge)
            .where(col(SignInChallenge.id) == challenge.id, col(SignInChallenge.used_at).is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise AuthenticationFailed(INVALID_CHALLENGE)

    async def purge_expired(self) -> int:
        now = utcnow()
        result = await self.session.exec(
            delete(SignInChallenge).where(col(SignInChallenge.expires_at) <= now)
        )
        return int(result.rowcount or 0)
