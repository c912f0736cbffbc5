"""Second factors: the policy, an authenticator app (TOTP), recovery codes, and removing a
user's factors when a phone is lost. Passkeys are in ``services/passkeys.py``.

Secrets never leave this module but once: the TOTP secret when enrolment starts, and the
recovery codes when they are made. The audit log records that a factor changed, never a value.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.config import Settings
from backoffice.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backoffice.models import Passkey, RecoveryCode, TotpDevice, User, utcnow
from backoffice.security import factors as crypto
from backoffice.services.audit import AuditService
from backoffice.services.base import Caller, Service
from backoffice.services.credentials import CredentialService

AUDIT_TYPE = "users"
SIGN_IN_AUDIT_TYPE = "sign-ins"
"""Sign-ins and failed second factors: kept apart from the account's own changes (History)."""
WRONG_CODE = "That code is not right (or was already used); try the next one."
NOT_WITH_API_KEY = "Second factors are managed by the account's owner, not with an API key."
LAST_FACTOR = (
    "Staff accounts must keep a second factor: add another (a passkey or an authenticator "
    "app) before removing this one."
)


def came_with_api_key(caller: Caller) -> bool:
    """Whether the caller came with an API key rather than as the account's owner signed in:
    a key never manages second factors or sessions."""
    return caller.via_api_key


@dataclass(frozen=True)
class TotpEnrolment:
    """Shown once: the secret as text, as an ``otpauth://`` URI, and as a QR code (SVG)."""

    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True)
class FactorOverview:
    totp: bool
    totp_pending: bool
    recovery_codes_left: int
    passkeys: list[Passkey]
    required: bool
    """The policy asks this account for a second factor."""

    @property
    def enrolled(self) -> bool:
        return self.totp or bool(self.passkeys)


def policy_applies(settings: Settings, user: User) -> bool:
    return settings.requires_second_factor and user.is_admin


async def has_second_factor(session: AsyncSession, user_id: int) -> bool:
    """A confirmed authenticator app or a passkey (recovery codes alone are no factor)."""
    totp = exists().where(
        col(TotpDevice.user_id) == user_id, col(TotpDevice.confirmed_at).is_not(None)
    )
    passkey = exists().where(col(Passkey.user_id) == user_id)
    return bool(await session.scalar(select(or_(totp, passkey))))


class SecondFactorService(Service):
    def __init__(self, session: AsyncSession, caller: Caller, settings: Settings) -> None:
        super().__init__(session, caller)
        self.settings = settings

    # -- the policy --------------------------------------------------------------------------

    async def enrolment_pending(self, user: User) -> bool:
        """The policy asks ``user`` for a second factor and they have none yet."""
        assert user.id is not None
        return policy_applies(self.settings, user) and not await has_second_factor(
            self.session, user.id
        )

    async def overview(self, user: User | None = None) -> FactorOverview:
        user = user or self.me()
        assert user.id is not None
        device = await self._device(user.id)
        left = await self.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(col(RecoveryCode.user_id) == user.id, col(RecoveryCode.used_at).is_(None))
        )
        passkeys = (
            await self.session.exec(
                select(Passkey).where(col(Passkey.user_id) == user.id).order_by(col(Passkey.id))
            )
        ).all()
        return FactorOverview(
            totp=device is not None and device.confirmed_at is not None,
            totp_pending=device is not None and device.confirmed_at is None,
            recovery_codes_left=int(left or 0),
            passkeys=list(passkeys),
            required=policy_applies(self.settings, user),
        )

    # -- enrolling an authenticator app ------------------------------------------------------

    async def start_totp(self) -> TotpEnrolment:
        """A new secret for the caller, waiting for its first code (``confirm_totp``). An
        enrolment left unconfirmed is replaced; a confirmed app must be removed first."""
        user = self.me()
        assert user.id is not None
        device = await self._device(user.id)
        if device is not None and device.confirmed_at is not None:
            raise Conflict("An authenticator app is already set up; remove it to set up another.")
        secret = crypto.new_totp_secret()
        encrypted = crypto.encrypt_secret(secret, self.settings.get_secret_key())
        if device is None:
            device = TotpDevice(user_id=user.id, encrypted_secret=encrypted)
        else:
            device.encrypted_secret, device.last_step = encrypted, None
        self.session.add(device)
        await self.session.flush()
        uri = crypto.provisioning_uri(secret, account=user.email, issuer=self.settings.project_name)
        return TotpEnrolment(secret=secret, uri=uri, qr_svg=crypto.qr_svg(uri))

    async def confirm_totp(self, code: str) -> list[str]:
        """The app counts once it has produced a right code; returns fresh recovery codes."""
        user = self.me()
        assert user.id is not None
        device = await self._device(user.id)
        if device is None or device.confirmed_at is not None:
            raise Conflict("There is no authenticator app waiting to be confirmed.")
        if not await self._accept_totp(device, code):
            raise InvalidInput.single("code", WRONG_CODE)
        device.confirmed_at = utcnow()
        self.session.add(device)
        codes = await self._new_recovery_codes(user.id)
        await self._audit("mfa-enrol", user, {"second_factor": "authenticator app"})
        return codes

    async def remove_totp(self) -> None:
        user = self.me()
        assert user.id is not None
        device = await self._device(user.id)
        if device is None:
            raise NotFound("No authenticator app is set up.")
        if device.confirmed_at is not None:
            await self.refuse_removing_last(user, passkeys_left=await self._passkey_count(user.id))
        await self.session.delete(device)
        await self.session.flush()
        await self._audit("mfa-remove", user, {"second_factor": "authenticator app"})

    async def regenerate_recovery_codes(self) -> list[str]:
        """Ten new codes; the old ones stop working."""
        user = self.me()
        assert user.id is not None
        if not await has_second_factor(self.session, user.id):
            raise Conflict("Set up an authenticator app or a passkey first.")
        codes = await self._new_recovery_codes(user.id)
        await self._audit("mfa-codes", user, {"recovery_codes": "(changed)"})
        return codes

    # -- checking a code at sign-in ----------------------------------------------------------

    async def check_code(self, user: User, code: str) -> str | None:
        """``"totp"`` or ``"recovery"`` if ``code`` is a right one not used before, else None."""
        assert user.id is not None
        code = code.strip()
        if not code or len(code) > 40:
            return None
        if crypto.looks_like_recovery_code(code):
            digest = crypto.recovery_code_hash(code, self.settings.get_secret_key())
            spent = await self.session.exec(
                update(RecoveryCode)
                .where(
                    col(RecoveryCode.user_id) == user.id,
                    col(RecoveryCode.code_hash) == digest,
                    col(RecoveryCode.used_at).is_(None),
                )
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return "recovery" if spent.rowcount == 1 else None
        device = await self._device(user.id)
        if device is None or device.confirmed_at is None:
            return None
        return "totp" if await self._accept_totp(device, code) else None

    # -- a lost phone ------------------------------------------------------------------------

    async def remove_all(self, user_id: int) -> User:
        """Remove every factor of a user (a superuser, or the operator at the command line):
        their sessions and tokens end too, and the audit log says who did it."""
        if not self.caller.is_superuser or came_with_api_key(self.caller):
            raise PermissionDenied("Only a superuser may remove another user's second factors.")
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        for model in (TotpDevice, RecoveryCode, Passkey):
            await self.session.exec(delete(model).where(col(model.user_id) == user_id))
        await CredentialService(self.session).end_everything_for(user_id)
        await self._audit("mfa-remove", user, {"second_factor": "all", "sessions": "ended"})
        return user

    # -- helpers -----------------------------------------------------------------------------

    def me(self) -> User:
        """The caller's own account: only its owner manages its factors."""
        if came_with_api_key(self.caller):
            raise PermissionDenied(NOT_WITH_API_KEY)
        if self.caller.user is None:
            raise PermissionDenied("Sign in to manage your second factors.")
        return self.caller.user

    async def refuse_removing_last(self, user: User, *, passkeys_left: int) -> None:
        """Refuse to remove the last factor of an account the policy covers."""
        assert user.id is not None
        device = await self._device(user.id)
        totp = int(device is not None and device.confirmed_at is not None)
        if policy_applies(self.settings, user) and totp + passkeys_left <= 1:
            raise Conflict(LAST_FACTOR)

    async def _passkey_count(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Passkey).where(col(Passkey.user_id) == user_id)
        )
        return int(count or 0)

    async def _device(self, user_id: int) -> TotpDevice | None:
        query = select(TotpDevice).where(col(TotpDevice.user_id) == user_id)
        return (await self.session.exec(query)).first()

    async def _accept_totp(self, device: TotpDevice, code: str) -> bool:
        """Right code, and a later step than the last one accepted (so never twice): the
        update wins for one of two concurrent uses of the same code."""
        secret = crypto.decrypt_secret(device.encrypted_secret, self.settings.get_secret_key())
        step = None if secret is None else crypto.matching_step(secret, code)
        if step is None:
            return False
        accepted = await self.session.exec(
            update(TotpDevice)
            .where(
                col(TotpDevice.id) == device.id,
                or_(col(TotpDevice.last_step).is_(None), col(TotpDevice.last_step) < step),
            )
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        if accepted.rowcount != 1:
            return False
        device.last_step = step
        return True

    async def _new_recovery_codes(self, user_id: int) -> list[str]:
        await self.session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
        codes = crypto.new_recovery_codes()
        key = self.settings.get_secret_key()
        for code in codes:
            self.session.add(
                RecoveryCode(user_id=user_id, code_hash=crypto.recovery_code_hash(code, key))
            )
        await self.session.flush()
        return codes

    async def _audit(self, action: str, user: User, changes: dict[str, Any]) -> None:
        await audit_account(self.session, self.caller, action, user, changes)


async def audit_account(
    session: AsyncSession,
    caller: Caller,
    action: str,
    user: User,
    changes: dict[str, Any],
    *,
    object_type: str = AUDIT_TYPE,
) -> None:
    """An audit entry about ``user``'s sign-in security (the account itself is the object)."""
    user = await session.get(User, user.id) or user  # a token's snapshot is not in a session
    await AuditService(session, caller).record(action, object_type, user, changes)
