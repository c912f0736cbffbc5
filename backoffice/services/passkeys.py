"""Passkeys (WebAuthn): several per account, each named; a second factor after the password
and, in the admin, a way in without one. The relying party is ``BASE_URL``'s."""

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.config import Settings
from backoffice.errors import AuthenticationFailed, InvalidInput, NotFound
from backoffice.models import Passkey, User, utcnow
from backoffice.security import passkeys as webauthn
from backoffice.services.base import Caller, Service
from backoffice.services.challenges import PASSKEY_REGISTER, PASSKEY_SIGN_IN, ChallengeStore
from backoffice.services.factors import SecondFactorService, audit_account

PASSKEY_REFUSED = "The passkey was not accepted; try again."
MAX_PASSKEYS = 20


class PasskeyService(Service):
    def __init__(self, session: AsyncSession, caller: Caller, settings: Settings) -> None:
        super().__init__(session, caller)
        self.settings = settings
        self.rp = webauthn.RelyingParty.from_base_url(settings.base_url, settings.project_name)
        self.challenges = ChallengeStore(
            session, timedelta(seconds=settings.second_factor_challenge_seconds)
        )
        self.factors = SecondFactorService(session, caller, settings)

    # -- one's own passkeys ------------------------------------------------------------------

    async def registration_options(self) -> tuple[str, str]:
        """(options for ``navigator.credentials.create`` as JSON, the ceremony's key)."""
        user = self.factors.me()
        assert user.id is not None
        existing = await self._passkeys(user.id)
        if len(existing) >= MAX_PASSKEYS:
            raise InvalidInput.single("name", f"An account may have at most {MAX_PASSKEYS}.")
        options, challenge = webauthn.registration_options(
            self.rp,
            user_id=user.id,
            user_name=user.username,
            existing=[p.credential_id for p in existing],
        )
        key = await self.challenges.issue(
            PASSKEY_REGISTER, user_id=user.id, webauthn_challenge=challenge
        )
        return options, key

    async def register(self, key: str, credential: str, name: str) -> Passkey:
        user = self.factors.me()
        assert user.id is not None
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput.single("name", "Name the passkey (up to 100 characters).")
        ceremony = await self.challenges.find(key, PASSKEY_REGISTER)
        if ceremony.user_id != user.id or ceremony.webauthn_challenge is None:
            raise InvalidInput.single("credential", PASSKEY_REFUSED)
        await self.challenges.spend(ceremony)
        try:
            new = webauthn.verify_registration(self.rp, credential, ceremony.webauthn_challenge)
        except webauthn.PasskeyRefused:
            raise InvalidInput.single("credential", PASSKEY_REFUSED) from None
        if await self._by_credential_id(new.credential_id) is not None:
            raise InvalidInput.single("credential", "This passkey is already registered.")
        passkey = Passkey(
            user_id=user.id,
            name=name,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
        )
        self.session.add(passkey)
        await self.session.flush()
        await audit_account(
            self.session, self.caller, "mfa-enrol", user, {"second_factor": f"passkey {name}"}
        )
        return passkey

    async def remove(self, passkey_id: int) -> None:
        user = self.factors.me()
        assert user.id is not None
        passkeys = await self._passkeys(user.id)
        found = next((p for p in passkeys if p.id == passkey_id), None)
        if found is None:
            raise NotFound("No such passkey.")
        await self.factors.refuse_removing_last(user, passkeys_left=len(passkeys))
        await self.session.delete(found)
        await self.session.flush()
        await audit_account(
            self.session,
            self.caller,
            "mfa-remove",
            user,
            {"second_factor": f"passkey {found.name}"},
        )

    # -- signing in with one -----------------------------------------------------------------

    async def sign_in_options(self, user_id: int | None = None) -> tuple[str, str]:
        """Options for ``navigator.credentials.get``: for ``user_id``'s passkeys (a second
        factor), or for any passkey of the site (passwordless)."""
        allowed = (
            [] if user_id is None else [p.credential_id for p in await self._passkeys(user_id)]
        )
        options, challenge = webauthn.authentication_options(self.rp, allowed=allowed)
        key = await self.challenges.issue(
            PASSKEY_SIGN_IN, user_id=user_id, webauthn_challenge=challenge
        )
        return options, key

    async def verify(self, key: str, credential: str, *, user_id: int | None = None) -> User:
        """The account whose passkey made this assertion for the ceremony ``key``; with
        ``user_id`` (a second factor) it must be that account's."""
        ceremony = await self.challenges.find(key, PASSKEY_SIGN_IN)
        await self.challenges.spend(ceremony)
        try:
            credential_id = webauthn.assertion_credential_id(credential)
        except webauthn.PasskeyRefused:
            raise AuthenticationFailed(PASSKEY_REFUSED).kept() from None
        passkey = await self._by_credential_id(credential_id)
        if (
            passkey is None
            or ceremony.webauthn_challenge is None
            or (user_id is not None and passkey.user_id != user_id)
            or (ceremony.user_id is not None and passkey.user_id != ceremony.user_id)
        ):
            raise AuthenticationFailed(PASSKEY_REFUSED).kept()  # the ceremony stays spent
        try:
            passkey.sign_count = webauthn.verify_assertion(
                self.rp,
                credential,
                ceremony.webauthn_challenge,
                public_key=passkey.public_key,
                sign_count=passkey.sign_count,
            )
        except webauthn.PasskeyRefused:
            raise AuthenticationFailed(PASSKEY_REFUSED).kept() from None
        passkey.last_used_at = utcnow()
        self.session.add(passkey)
        user = await self.session.get(User, passkey.user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed(PASSKEY_REFUSED)
        return user

    async def _passkeys(self, user_id: int) -> list[Passkey]:
        query = select(Passkey).where(col(Passkey.user_id) == user_id).order_by(col(Passkey.id))
        return list((await self.session.exec(query)).all())

    async def _by_credential_id(self, credential_id: str) -> Passkey | None:
        query = select(Passkey).where(col(Passkey.credential_id) == credential_id)
        return (await self.session.exec(query)).first()
