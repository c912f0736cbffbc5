"""Signing in and out, for the API and the admin: credentials to tokens and sessions, tokens
and sessions back to users, throttled guessing, password reset."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.config import Settings
from backoffice.errors import AuthenticationFailed, InvalidInput, Throttled
from backoffice.models import PASSWORD_MAX_LENGTH, User, UserCreate
from backoffice.security import InvalidToken, IssuedToken, PasswordHasher, create_token
from backoffice.security.api_keys import derive_hash_key
from backoffice.security.reset_tokens import create_reset_token, read_reset_token
from backoffice.security.sessions import fingerprints_match
from backoffice.security.tokens import ACCESS
from backoffice.services.access import (
    AccessGrant,
    read_access_grant,
    token_fingerprint,
)
from backoffice.services.api_key_access import INVALID_KEY, read_api_key_grant
from backoffice.services.base import Caller, Service
from backoffice.services.credentials import CredentialService, Lifetimes, Origin
from backoffice.services.mail import Mail, Mailer
from backoffice.services.second_step import Answer, PendingSignIn, SecondStep
from backoffice.services.throttle import LoginThrottleService, Quota, ThrottlePolicy
from backoffice.services.users import BAD_CREDENTIALS, UserService

INVALID_RESET = "This password reset link is invalid, expired or already used."
TOO_MANY_REGISTRATIONS = "Too many accounts were registered from your address."
TOO_MANY_RESETS = "Too many password reset requests from your address."


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh_token: str


class AuthService(Service):
    def __init__(
        self,
        session: AsyncSession,
        caller: Caller,
        hasher: PasswordHasher,
        settings: Settings,
        mailer: Mailer | None = None,
    ) -> None:
        super().__init__(session, caller)
        self.hasher = hasher
        self.settings = settings
        self.mailer = mailer

    # Built on first use: checking an access token (every API request) needs neither.

    @cached_property
    def credentials(self) -> CredentialService:
        settings = self.settings
        return CredentialService(
            self.session,
            Lifetimes(
                refresh=timedelta(days=settings.refresh_token_expire_days),
                admin_idle=timedelta(seconds=settings.admin_session_idle_seconds),
                admin_absolute=timedelta(seconds=settings.admin_session_max_age_seconds),
            ),
        )

    @cached_property
    def throttle(self) -> LoginThrottleService:
        settings = self.settings
        return LoginThrottleService(
            self.session,
            ThrottlePolicy(
                account_failures=settings.login_throttle_account_failures,
                address_failures=settings.login_throttle_address_failures,
                max_delay_seconds=settings.login_throttle_max_delay_seconds,
                window_seconds=settings.login_throttle_window_seconds,
                quota_window_seconds=settings.rate_limit_window_seconds,
            ),
            settings.get_secret_key(),
        )

    @cached_property
    def second_step(self) -> SecondStep:
        return SecondStep(self)

    @property
    def users(self) -> UserService:
        return UserService(self.session, self.caller, self.hasher)

    # -- checking a password, for both doors -------------------------------------------------

    async def verify_credentials(
        self,
        login: str,
        password: str,
        *,
        address: str | None,
        staff_only: bool = False,
        forget_failures: bool = True,
    ) -> User:
        """The account for these credentials, or ``AuthenticationFailed`` / ``Throttled``.

        Failures are counted per account and per client address (and the count is kept
        although the request fails); past the threshold, attempts are refused before any
        password is checked. An account's email and username count as one account; a login
        that names none is counted as typed. Unknown accounts, wrong passwords, inactive
        accounts and (for the admin) non-staff accounts all get the same answer, after the
        same work (one lookup, one verification).

        With ``forget_failures`` false the account's count stays: a sign-in that still owes
        its second factor is not done, and a right password must not buy fresh guesses at
        the code (``forget_failures`` runs once the sign-in is complete).
        """
        if len(password) > PASSWORD_MAX_LENGTH:
            # No stored password is this long: refuse before hashing a huge input.
            raise InvalidInput.single(
                "password", f"Password must be at most {PASSWORD_MAX_LENGTH} characters long."
            )
        named = await self.users.find_by_login(login)
        keys = self.throttle.keys(login, address, user_id=named.id if named else None)
        on_record = await self.throttle.check(keys)
        try:
            user = await self.users.authenticate(login, password, staff_only=staff_only)
        except AuthenticationFailed:
            await self.throttle.record_failure(keys)
            raise AuthenticationFailed(BAD_CREDENTIALS).kept() from None
        if forget_failures and keys[0].key in on_record:
            await self.throttle.reset(keys[:1])  # the account's count; the address's stays
        return user

    async def forget_failures(self, user: User, address: str | None) -> None:
        """A complete sign-in: the account's failure count (not the address's) is reset."""
        keys = self.throttle.keys("", address, user_id=user.id)
        if keys[0].key in await self.throttle.check(keys):
            await self.throttle.reset(keys[:1])

    # -- registration ------------------------------------------------------------------------

    async def register(self, data: UserCreate, *, address: str | None) -> User:
        """Public registration, at most ``registration_limit_per_address`` per client address
        per window. The quota is asked before the password is hashed and taken once the account
        exists, so a refused or failed registration costs no place (and a refused one no hash)."""
        quota = None
        if address:
            quota = Quota.for_address(
                "register", address, self.settings.registration_limit_per_address
            )
            await self._refuse_if_used_up(quota, TOO_MANY_REGISTRATIONS)
        user = await self.users.create(data)
        if quota is not None:
            await self.throttle.require(quota, TOO_MANY_REGISTRATIONS)  # lost a race: undone
        return user

    async def _refuse_if_used_up(self, quota: Quota, detail: str) -> None:
        wait = await self.throttle.quota_wait(quota)
        if wait is not None:
            raise Throttled(wait, detail)

    # -- the API: access and refresh tokens --------------------------------------------------

    async def login(
        self,
        login: str,
        password: str,
        *,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair | PendingSignIn:
        """Tokens for the password, or (for an account with a second factor) a challenge to
        answer at ``complete_login``."""
        user = await self.verify_credentials(
            login, password, address=address, forget_failures=False
        )
        pending = await self.second_step.owed(user)
        if pending is not None:
            return pending
        await self.forget_failures(user, address)
        await self.second_step.signed_in(user, "password")
        return await self._sign_in(user, Origin(address, user_agent))

    async def complete_login(
        self,
        challenge: str,
        answer: Answer,
        *,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """The second step of ``login``: tokens once the answer checks out."""
        user = await self.second_step.complete(challenge, answer, address=address)
        return await self._sign_in(user, Origin(address, user_agent))

    async def _sign_in(self, user: User, origin: Origin) -> TokenPair:
        family = CredentialService.new_family_id()
        refresh = await self.credentials.issue_refresh_token(user, family_id=family, origin=origin)
        return TokenPair(self._access_token(user, family), refresh)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a refresh token, which is spent: it works once (see CredentialService)."""
        user, spent = await self.credentials.use_refresh_token(refresh_token)
        origin = Origin(spent.address, spent.user_agent)
        fresh = await self.credentials.issue_refresh_token(
            user, family_id=spent.family_id, origin=origin
        )
        return TokenPair(self._access_token(user, spent.family_id), fresh)

    async def logout(self, grant: AccessGrant, refresh_token: str | None) -> None:
        """The access token is refused from now on; the refresh token's family ends."""
        await self.credentials.revoke_access_token(grant.claims.jti, grant.claims.expires_at)
        if refresh_token:
            assert grant.user.id is not None
            await self.credentials.revoke_refresh_token(refresh_token, user_id=grant.user.id)

    async def grant_for_access_token(self, token: str) -> AccessGrant:
        """See ``read_access_grant``."""
        connection = await self.session.connection()
        return await read_access_grant(connection, token, secret_key=self.settings.get_secret_key())

    async def caller_for_api_key(self, key: str, *, address: str | None) -> Caller:
        """The caller an API key speaks for: its owner, narrowed to its scopes. A key that
        does not work counts as a failure of the client's address in the sign-in throttle;
        past its threshold the address is refused (``Throttled``) before any further check."""
        connection = await self.session.connection()
        hash_key = derive_hash_key(self.settings.get_secret_key())
        try:
            grant = await read_api_key_grant(connection, key, hash_key=hash_key, address=address)
        except AuthenticationFailed:
            if address:
                keys = self.throttle.keys("", address)[1:]  # the address's key only
                await self.throttle.check(keys)
                await self.throttle.record_failure(keys)
            raise AuthenticationFailed(INVALID_KEY).kept() from None
        return Caller(user=grant.user, door="api", api_key_id=grant.key_id, scopes=grant.scopes)

    def _access_token(self, user: User, family: str) -> IssuedToken:
        return create_token(
            str(user.id),
            token_type=ACCESS,
            secret_key=self.settings.get_secret_key(),
            lifetime=timedelta(minutes=self.settings.access_token_expire_minutes),
            fingerprint=self._fingerprint(user),
            family=family,
        )

    def _fingerprint(self, user: User) -> str:
        return token_fingerprint(user.hashed_password, self.settings.get_secret_key())

    # -- the admin: server-side sessions -----------------------------------------------------

    async def open_admin_session(
        self,
        login: str,
        password: str,
        *,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> str | PendingSignIn:
        """Sign a staff user in to the admin; returns the opaque key the cookie carries, or a
        challenge (``complete_admin_sign_in``) for an account with a second factor."""
        user = await self.verify_credentials(
            login, password, address=address, staff_only=True, forget_failures=False
        )
        pending = await self.second_step.owed(user)
        if pending is not None:
            return pending
        await self.forget_failures(user, address)
        await self.second_step.signed_in(user, "password")
        return await self.credentials.open_admin_session(user, Origin(address, user_agent))

    async def complete_admin_sign_in(
        self,
        challenge: str,
        answer: Answer,
        *,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> str:
        user = await self.second_step.complete(challenge, answer, address=address)
        if not user.is_admin:
            raise AuthenticationFailed(BAD_CREDENTIALS)
        return await self.credentials.open_admin_session(user, Origin(address, user_agent))

    async def passkey_admin_sign_in(
        self, ceremony: str, credential: str, *, address: str | None, user_agent: str | None
    ) -> str:
        """Passwordless: a passkey alone signs a staff user in (it is two factors in one: the
        device, and the PIN or fingerprint that unlocks it)."""
        user = await self.second_step.passkeys(self.caller).verify(ceremony, credential)
        if not user.is_admin:
            raise AuthenticationFailed(BAD_CREDENTIALS)
        await self.second_step.signed_in(user, "passkey")
        return await self.credentials.open_admin_session(user, Origin(address, user_agent))

    async def user_for_admin_session(self, key: object) -> User:
        return await self.credentials.admin_session_user(key)

    async def close_admin_session(self, key: object) -> None:
        await self.credentials.close_admin_session(key)

    # -- housekeeping ------------------------------------------------------------------------

    async def purge_expired(self) -> dict[str, int]:
        """Delete sign-in state that can no longer matter (``backoffice clearsessions``)."""
        counts = await self.credentials.purge_expired()
        counts["sign_in_challenge"] = await self.second_step.challenges.purge_expired()
        counts["login_throttle"] = await self.throttle.purge_stale()
        return counts

    # -- password reset ----------------------------------------------------------------------

    async def request_password_reset(
        self, email: str, *, reset_page: str, address: str | None = None
    ) -> Mail | None:
        """The reset mail to send, if an active account has this email; else None. The caller
        answers the same either way. ``reset_page`` is a path on ``BASE_URL``.

        ``Throttled`` past ``password_reset_limit_per_address`` requests from ``address``; past
        ``password_reset_mails_per_account`` for one email, None (no mail, the same answer)."""
        settings = self.settings
        if address:
            quota = Quota.for_address("reset", address, settings.password_reset_limit_per_address)
            await self._refuse_if_used_up(quota, TOO_MANY_RESETS)
            await self.throttle.require(quota, TOO_MANY_RESETS)
        # Counted for every email, known or not, so the work done tells nothing either.
        mails = self.throttle.recipient_quota(
            "reset-mail", email, settings.password_reset_mails_per_account
        )
        if await self.throttle.take(mails) is not None:
            return None
        user = await self.users.find_by_login(email)
        if user is None or not user.is_active or user.email != email.strip().lower():
            return None
        assert user.id is not None
        token = create_reset_token(
            user.id, self._fingerprint(user), secret_key=self.settings.get_secret_key()
        )
        url = f"{self.settings.base_url}{reset_page}?token={token}"
        assert self.mailer is not None, "a Mailer is needed to send reset mail"
        return self.mailer.password_reset(
            user, url, valid_minutes=self.settings.password_reset_expire_minutes
        )

    async def check_reset_token(self, token: str) -> User:
        """The account a reset token may still set a password for; ``InvalidInput`` if it is
        expired, used (the password changed since) or not a token. Changes nothing: a reset
        page says so when the link is opened, before the form is filled."""
        try:
            claims = read_reset_token(
                token,
                secret_key=self.settings.get_secret_key(),
                max_age_seconds=self.settings.password_reset_expire_minutes * 60,
            )
        except InvalidToken as exc:
            raise InvalidInput.single("token", INVALID_RESET) from exc
        user = await self.session.get(User, claims.user_id)
        if (
            user is None
            or not user.is_active
            or not fingerprints_match(self._fingerprint(user), claims.fingerprint)
        ):
            raise InvalidInput.single("token", INVALID_RESET)
        return user

    async def reset_password(self, token: str, new_password: str) -> User:
        """Set a new password with a reset token. The token is bound to the password it was
        issued under, so it works once and dies with any password change."""
        user = await self.check_reset_token(token)
        if not await self._claim_password(user):
            raise InvalidInput.single("token", INVALID_RESET)
        await self.users.reset_password(user, new_password)
        return user

    async def _claim_password(self, user: User) -> bool:
        """Lock the account's row while its password is still the one just checked; False if
        it has changed. Concurrent confirms of one token queue here (PostgreSQL's row lock,
        SQLite's write lock) and only the first finds the old password: the token works once."""
        claim = (
            update(User)
            .where(col(User.id) == user.id, col(User.hashed_password) == user.hashed_password)
            .values(hashed_password=User.hashed_password)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.exec(claim)
        return bool(result.rowcount)
