"""Every rule about users lives here, whichever door (API, admin, CLI) asks."""

from sqlalchemy import ColumnElement, false, func, or_
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from backoffice.models import (
    AuditEntry,
    Page,
    User,
    UserAdminCreate,
    UserCreate,
    UserUpdate,
    UserUpdateMe,
    utcnow,
)
from backoffice.models.users import RESERVED_USERNAMES, UserBase
from backoffice.security import PasswordHasher
from backoffice.services.audit import AuditService, snapshot
from backoffice.services.base import Caller, Service, like_pattern, parse_sort
from backoffice.services.credentials import CredentialService
from backoffice.services.mail import Mail, Mailer
from backoffice.services.managing import require_may_manage
from backoffice.services.passwords import check_password
from backoffice.services.trash import in_trash, move_to_trash
from backoffice.services.versions import check_current, claim

USER_SORT_FIELDS = frozenset({"id", "email", "username", "created_at", "last_login"})
UNIQUE_FIELDS = {
    "email": "A user with this email already exists.",
    "username": "A user with this username already exists.",
}
BAD_CREDENTIALS = "Incorrect username or password."
AUDIT_TYPE = "users"
LAST_SUPERUSER = "This is the last active superuser: it cannot be deleted, deactivated or demoted."
RESERVED_USERNAME = (
    "is reserved: the audit log uses it for actions without an account; choose another username"
)
EMAIL_CHANGE_UNPROVEN = "Give your current password to change your email address."
INCORRECT_CURRENT = "The current password is incorrect."


class UserService(Service):
    model = User
    """Its table (``Service.readable`` leaves out its rows in the trash)."""

    def __init__(
        self,
        session: AsyncSession,
        caller: Caller,
        hasher: PasswordHasher,
        mailer: Mailer | None = None,
    ) -> None:
        super().__init__(session, caller)
        self.hasher = hasher
        self.mailer = mailer
        self.audit = AuditService(session, caller)
        self.outbox: list[Mail] = []
        """Mail the door sends once its unit of work is committed (e.g. the notice to the old
        address after an email change)."""

    # -- reading -----------------------------------------------------------------------------

    async def get(self, user_id: int) -> User:
        """A user the caller may see: themselves, or anyone with ``users.view``."""
        if not self.caller.is_self(user_id) and not await self.may("users", "view"):
            raise PermissionDenied("You may only view your own account.")
        return await self._load(user_id)

    async def visible(self) -> list[ColumnElement[bool]]:
        """Every account for whoever may view, change or delete users (``update`` and
        ``delete`` act on any account); otherwise one's own, as ``get`` allows."""
        if await self.may("users", "view") or await self.may("users", "delete"):
            return []
        return [col(User.id) == self.caller.user_id] if self.caller.is_person else [false()]

    async def list(
        self,
        *,
        skip: int = 0,
        limit: int = 50,
        search: str | None = None,
        sort: str | None = None,
        is_active: bool | None = None,
        is_staff: bool | None = None,
        is_superuser: bool | None = None,
    ) -> Page[User]:
        await self._require("view", "list users")
        order = parse_sort(sort, USER_SORT_FIELDS, "id")
        conditions: list[ColumnElement[bool]] = await self.readable()
        if search:
            pattern = like_pattern(search.strip().lower())
            conditions.append(
                or_(
                    col(User.email).like(pattern, escape="\\"),
                    col(User.username).like(pattern, escape="\\"),
                    func.lower(col(User.full_name)).like(pattern, escape="\\"),
                )
            )
        for column, value in (
            (User.is_active, is_active),
            (User.is_staff, is_staff),
            (User.is_superuser, is_superuser),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        return await self.fetch_page(User, conditions, order, skip=skip, limit=limit)

    async def find_by_login(self, login: str) -> User | None:
        """The account whose email or username is ``login`` (case-insensitive), if any."""
        key = login.strip().lower()
        if not key or "\x00" in key:  # no account has one, and PostgreSQL cannot compare it
            return None
        query = select(User).where(or_(col(User.email) == key, col(User.username) == key))
        return (await self.session.exec(query)).first()

    async def count_superusers(self) -> int:
        query = select(func.count()).select_from(User).where(*_active_superuser())
        return int(await self.session.scalar(query) or 0)

    # -- writing -----------------------------------------------------------------------------

    async def create(self, data: UserCreate) -> User:
        """Register (``UserCreate``) or, for admins, create with flags (``UserAdminCreate``)."""
        is_active, is_staff, is_superuser = True, False, False
        if isinstance(data, UserAdminCreate):
            await self._require("add", "create users with chosen flags")
            if (data.is_staff or data.is_superuser) and not self.caller.is_superuser:
                raise PermissionDenied("Only a superuser can create staff or superusers.")
            is_active, is_staff, is_superuser = data.is_active, data.is_staff, data.is_superuser
        _check_not_reserved(data.username)
        check_password(data.password, user_attributes=_attributes(data))
        await self._check_unique(email=data.email, username=data.username)
        user = User(
            email=data.email,
            username=data.username,
            full_name=data.full_name,
            hashed_password=await self.hasher.hash(data.password),
            is_active=is_active,
            is_staff=is_staff,
            is_superuser=is_superuser,
        )
        self.session.add(user)
        await self.flush_unique(UNIQUE_FIELDS)
        await self.audit.created(AUDIT_TYPE, user)
        return user

    async def update(self, user_id: int, data: UserUpdateMe, *, version: int | None = None) -> User:
        """Change a user. ``UserUpdate`` (with flags) is for admins; ``UserUpdateMe`` for self.

        Changing one's own email takes the current password; whoever changes an address, the
        old one is told (a mail in ``outbox``). With ``version`` (the one the caller read),
        only if nobody has saved since: else ``Stale``, nothing written.
        """
        changes = data.model_dump(exclude_unset=True)
        current_password = changes.pop("current_password", None)
        for key in ("email", "username", "is_active", "is_staff", "is_superuser"):
            if key in changes and changes[key] is None:
                del changes[key]  # a required field is never cleared: null leaves it as it is
        self._refuse_key_on_owner(user_id)
        is_self = self.caller.is_self(user_id)
        if isinstance(data, UserUpdate) or not is_self:
            await self._require("change", "change other users")
        user = await self._load(user_id)
        await require_may_manage(self, user)
        if changes.get("username", user.username) != user.username:
            _check_not_reserved(changes["username"])
        old_email = user.email
        changes_email = changes.get("email", old_email) != old_email
        if changes_email and is_self:
            await self._check_current_password(user, current_password)
        changes_rank = any(
            key in changes and changes[key] != getattr(user, key)
            for key in ("is_staff", "is_superuser")
        )
        if changes_rank and not self.caller.is_superuser:
            raise PermissionDenied(
                "Only a superuser can grant or revoke staff or superuser status."
            )
        await self._check_unique(
            email=changes.get("email"), username=changes.get("username"), exclude_id=user_id
        )
        demotes = _removes_superuser(user, changes)
        deactivates = user.is_active and changes.get("is_active") is False
        if demotes:
            await self._lock_superusers()
        label = f"User {user_id}"
        if all(getattr(user, key) == value for key, value in changes.items()):
            check_current(user, version, label)
            return user  # nothing to write: the version stays
        before = snapshot(user)
        await claim(self.session, user, version, label)
        for key, value in changes.items():
            setattr(user, key, value)
        self.session.add(user)
        await self.flush_unique(UNIQUE_FIELDS)
        if demotes:
            await self._ensure_a_superuser_remains()
        if deactivates:
            await CredentialService(self.session).end_everything_for(user_id)
        await self.audit.updated(AUDIT_TYPE, user, before)
        if changes_email:
            self.outbox.append(self._email_changed_notice(user, old_email))
        return user

    async def change_password(self, user_id: int, current_password: str, new_password: str) -> None:
        """The user's own change: the current password must be given."""
        if not self.caller.is_self(user_id):
            raise PermissionDenied(
                "An API key cannot change a password."
                if self.caller.via_api_key
                else "You may only change your own password this way."
            )
        user = await self._load(user_id)
        ok, _ = await self.hasher.verify(current_password, user.hashed_password)
        if not ok:
            raise InvalidInput.single("current_password", INCORRECT_CURRENT)
        await self._store_password(user, new_password, field="new_password")

    async def reset_password(self, user: User, new_password: str) -> None:
        """A new password for someone who proved control of the account another way (a reset
        link): no current password, and no admin rights needed."""
        await self._store_password(user, new_password, field="new_password")

    async def set_password(self, user_id: int, new_password: str) -> None:
        """An admin's or the operator's reset, without the current password."""
        user = await self.may_set_password(user_id)
        await self._store_password(user, new_password, field="password")

    def _refuse_key_on_owner(self, user_id: int) -> None:
        """A key acts for its owner but never on the owner's own account: whatever its scopes,
        it could otherwise change the account's email and take it over."""
        if self.caller.via_api_key and self.caller.user_id == user_id:
            raise PermissionDenied("An API key cannot change or delete its owner's account.")

    async def may_set_password(self, user_id: int) -> User:
        """The account whose password the caller may set (else ``PermissionDenied``): asked
        before a form is even shown."""
        if self.caller.via_api_key:
            raise PermissionDenied("An API key cannot change a password.")
        await self._require("change", "set other users' passwords")
        user = await self._load(user_id)
        await require_may_manage(self, user)
        return user

    async def delete(self, user_id: int, *, version: int | None = None) -> None:
        """Move a user to the trash (``services.trash``); with ``version``, only if nobody has
        saved since (``Stale``)."""
        self._refuse_key_on_owner(user_id)
        if not self.caller.is_self(user_id):
            await self._require("delete", "delete other users")
        user = await self._load(user_id)
        await require_may_manage(self, user)
        removes_superuser = user.is_superuser and user.is_active
        if removes_superuser:
            await self._lock_superusers()
        # To the trash, inactive: every door that signs a user in refuses an inactive one, and
        # every session and token of the account ends now.
        await move_to_trash(
            self.session,
            self.audit,
            user,
            audit_type=AUDIT_TYPE,
            label=f"User {user_id}",
            version=version,
            also={"is_active": False},
        )
        await CredentialService(self.session).end_everything_for(user_id)
        if removes_superuser:
            await self._ensure_a_superuser_remains()

    async def before_restore(self, user: User) -> None:
        """Out of the trash, a user is as active as it was when deleted (the delete's audit
        entry says); managing rules apply as to a delete."""
        await require_may_manage(self, user)
        query = (
            select(AuditEntry)
            .where(
                col(AuditEntry.object_type) == AUDIT_TYPE,
                col(AuditEntry.object_id) == str(user.id),
                col(AuditEntry.action) == "delete",
            )
            .order_by(col(AuditEntry.id).desc())
            .limit(1)
        )
        deleted = (await self.session.exec(query)).first()
        was = deleted.changes.get("is_active") if deleted is not None else None
        if isinstance(was, list) and was and isinstance(was[0], bool):
            user.is_active = was[0]

    async def authenticate(self, login: str, password: str, *, staff_only: bool = False) -> User:
        """The user with this email or username and password, if active (and, with
        ``staff_only``, staff).

        An unknown login, a wrong password, an inactive account (and a non-staff account where
        staff is required) get the same answer after the same work (one hash verification).
        """
        user = await self.find_by_login(login)
        ok, new_hash = await self.hasher.verify(password, user.hashed_password if user else None)
        if user is None or not ok or not user.is_active or (staff_only and not user.is_admin):
            raise AuthenticationFailed(BAD_CREDENTIALS)
        if new_hash:
            user.hashed_password = new_hash  # an outdated scheme (bcrypt) upgraded to argon2id
        user.last_login = utcnow()
        flag_modified(user, "updated_at")  # signing in is not an edit: keep updated_at as it was
        # No flush of its own: nothing here can fail, and the sign-in's next write (the token
        # or session it issues) flushes it in the same round of work.
        self.session.add(user)
        return user

    # -- rules -------------------------------------------------------------------------------

    async def _require(self, action: str, what: str) -> None:
        if not await self.may("users", action):
            raise PermissionDenied(f"You need the users.{action} permission to {what}.")

    async def _check_current_password(self, user: User, password: str | None) -> None:
        if not password:
            raise InvalidInput.single("current_password", EMAIL_CHANGE_UNPROVEN)
        ok, _ = await self.hasher.verify(password, user.hashed_password)
        if not ok:
            raise InvalidInput.single("current_password", INCORRECT_CURRENT)

    def _email_changed_notice(self, user: User, old_email: str) -> Mail:
        if self.mailer is None:
            raise RuntimeError("UserService needs a mailer to change an email address")
        return self.mailer.email_changed(user, old_email)

    async def _load(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None or in_trash(user):
            raise NotFound(f"User {user_id} does not exist.")
        return user

    async def _check_unique(
        self, *, email: str | None, username: str | None, exclude_id: int | None = None
    ) -> None:
        for field, value in (("email", email), ("username", username)):
            if value is None:
                continue
            query = select(User.id).where(col(getattr(User, field)) == value)
            if exclude_id is not None:
                query = query.where(col(User.id) != exclude_id)
            if (await self.session.exec(query)).first() is not None:
                raise Conflict(UNIQUE_FIELDS[field], field=field)

    async def _store_password(self, user: User, password: str, *, field: str) -> None:
        check_password(password, field=field, user_attributes=_attributes(user))
        user.hashed_password = await self.hasher.hash(password)
        self.session.add(user)
        await self.session.flush()
        await self.audit.updated(AUDIT_TYPE, user, snapshot(user), secrets=("password",))
        # Every token and admin session opened under the old password ends with it.
        assert user.id is not None
        await CredentialService(self.session).end_everything_for(user.id)

    async def _lock_superusers(self) -> None:
        # Concurrent demotions queue here (on both engines: ``Service.lock_all``), so each one
        # counts what the other left.
        await self.lock_all(User, *_active_superuser())

    async def _ensure_a_superuser_remains(self) -> None:
        # Counted after the change is flushed: on SQLite the write lock is held by then, so a
        # concurrent demotion is serialised behind this one and sees its result.
        if await self.count_superusers() == 0:
            raise Conflict(LAST_SUPERUSER)


def _check_not_reserved(username: str) -> None:
    if username in RESERVED_USERNAMES:
        raise InvalidInput.single("username", f"{username!r} {RESERVED_USERNAME}")


def _attributes(user: UserBase) -> dict[str, str | None]:
    """What the password policy compares a new password with."""
    return {"email": user.email, "username": user.username, "full name": user.full_name}


def _active_superuser() -> tuple[ColumnElement[bool], ...]:
    return (col(User.is_superuser).is_(True), col(User.is_active).is_(True))


def _removes_superuser(user: User, changes: dict[str, object]) -> bool:
    if not (user.is_superuser and user.is_active):
        return False
    return changes.get("is_superuser") is False or changes.get("is_active") is False
