"""The second step of a sign-in, the same for the API and the admin: a challenge handed out
after the password, answered with an authenticator code, a recovery code or a passkey.

Wrong answers count in the login throttle with wrong passwords (per account and per address),
and a throttled account is refused before any code is checked. Every sign-in and every failed
second factor is written to the audit log.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from backoffice.errors import AuthenticationFailed
from backoffice.models import User
from backoffice.services.base import Caller, Door
from backoffice.services.challenges import SECOND_FACTOR, ChallengeStore
from backoffice.services.factors import (
    SIGN_IN_AUDIT_TYPE,
    WRONG_CODE,
    SecondFactorService,
    audit_account,
    has_second_factor,
)
from backoffice.services.passkeys import PasskeyService

if TYPE_CHECKING:
    from backoffice.services.auth import AuthService


@dataclass(frozen=True)
class PendingSignIn:
    """The password was right and a second factor is owed: answer ``challenge`` with one of
    ``methods`` within ``expires_in`` seconds."""

    challenge: str
    methods: list[str]
    expires_in: int


@dataclass(frozen=True)
class Answer:
    """What the person gave at the second step: a code, or a passkey assertion (with the key
    of the ceremony that asked for it)."""

    code: str | None = None
    passkey_ceremony: str | None = None
    passkey_credential: str | None = None


class SecondStep:
    def __init__(self, auth: "AuthService") -> None:
        self.auth = auth
        self.session = auth.session
        self.settings = auth.settings
        lifetime = timedelta(seconds=self.settings.second_factor_challenge_seconds)
        self.challenges = ChallengeStore(self.session, lifetime)

    def factors(self, caller: Caller) -> SecondFactorService:
        return SecondFactorService(self.session, caller, self.settings)

    def passkeys(self, caller: Caller) -> PasskeyService:
        return PasskeyService(self.session, caller, self.settings)

    async def owed(self, user: User) -> PendingSignIn | None:
        """A challenge if ``user`` has a second factor, else None (the password suffices)."""
        assert user.id is not None
        if not await has_second_factor(self.session, user.id):
            return None
        overview = await self.factors(Caller(user=user, door=self.auth.caller.door)).overview(user)
        methods = (["totp"] if overview.totp else []) + (["passkey"] if overview.passkeys else [])
        if overview.recovery_codes_left:
            methods.append("recovery_code")
        challenge = await self.challenges.issue(SECOND_FACTOR, user_id=user.id)
        return PendingSignIn(challenge, methods, self.settings.second_factor_challenge_seconds)

    async def passkey_options(self, challenge: str) -> tuple[str, str]:
        """Passkey options for the account a pending sign-in belongs to."""
        pending = await self.challenges.find(challenge, SECOND_FACTOR)
        return await self.passkeys(Caller.anonymous(self.auth.caller.door)).sign_in_options(
            pending.user_id
        )

    async def complete(self, challenge: str, answer: Answer, *, address: str | None) -> User:
        """The account, once ``answer`` checks out; the challenge is then spent."""
        pending = await self.challenges.find(challenge, SECOND_FACTOR)
        user = None if pending.user_id is None else await self.session.get(User, pending.user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed(WRONG_CODE)
        throttle = self.auth.throttle
        keys = throttle.keys("", address, user_id=user.id)
        on_record = await throttle.check(keys)
        method = await self._check(user, answer)
        if method is None:
            await throttle.record_failure(keys)
            await audit_account(
                self.session,
                self._as(user),
                "mfa-failed",
                user,
                {"door": self._door},
                object_type=SIGN_IN_AUDIT_TYPE,
            )
            raise AuthenticationFailed(WRONG_CODE).kept()
        await self.challenges.spend(pending)
        if keys[0].key in on_record:
            await throttle.reset(keys[:1])
        await self.signed_in(user, f"password+{method}")
        return user

    async def signed_in(self, user: User, method: str) -> None:
        await audit_account(
            self.session,
            self._as(user),
            "sign-in",
            user,
            {"door": self._door, "method": method},
            object_type=SIGN_IN_AUDIT_TYPE,
        )

    async def _check(self, user: User, answer: Answer) -> str | None:
        if answer.passkey_credential and answer.passkey_ceremony:
            try:
                await self.passkeys(self._as(user)).verify(
                    answer.passkey_ceremony, answer.passkey_credential, user_id=user.id
                )
            except AuthenticationFailed:
                return None
            return "passkey"
        if answer.code:
            return await self.factors(self._as(user)).check_code(user, answer.code)
        return None

    @property
    def _door(self) -> Door:
        return self.auth.caller.door

    def _as(self, user: User) -> Caller:
        return Caller(user=user, door=self._door)
