"""Signing in: credentials to tokens, tokens back to users."""

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice.config import Settings
from backoffice.errors import AuthenticationFailed
from backoffice.models import User
from backoffice.security import (
    InvalidToken,
    IssuedToken,
    PasswordHasher,
    create_token,
    decode_token,
)
from backoffice.security.sessions import credentials_fingerprint, fingerprints_match
from backoffice.security.tokens import ACCESS
from backoffice.services.base import Caller, Service
from backoffice.services.users import BAD_CREDENTIALS, UserService

INVALID_TOKEN = "Could not validate credentials."  # noqa: S105 (a message)
INVALID_SESSION = "The session has ended; please sign in again."


class AuthService(Service):
    def __init__(
        self, session: AsyncSession, caller: Caller, hasher: PasswordHasher, settings: Settings
    ) -> None:
        super().__init__(session, caller)
        self.hasher = hasher
        self.settings = settings

    async def login(self, login: str, password: str) -> tuple[User, IssuedToken]:
        user = await UserService(self.session, self.caller, self.hasher).authenticate(
            login, password
        )
        assert user.id is not None
        token = create_token(
            str(user.id),
            token_type=ACCESS,
            secret_key=self.settings.get_secret_key(),
            lifetime=timedelta(minutes=self.settings.access_token_expire_minutes),
        )
        return user, token

    async def user_for_access_token(self, token: str) -> User:
        """The account an access token speaks for; any flaw is the same ``AuthenticationFailed``."""
        try:
            claims = decode_token(
                token, token_type=ACCESS, secret_key=self.settings.get_secret_key()
            )
            user_id = int(claims.subject)
        except (InvalidToken, ValueError) as exc:
            raise AuthenticationFailed(INVALID_TOKEN) from exc
        user = await self.session.get(User, user_id)
        if user is None:
            raise AuthenticationFailed(INVALID_TOKEN)
        return user

    # -- the admin door ----------------------------------------------------------------------

    async def login_staff(self, login: str, password: str) -> User:
        """Only active staff and superusers may enter the admin; anyone else gets the same
        answer as a wrong password."""
        user = await UserService(self.session, self.caller, self.hasher).authenticate(
            login, password
        )
        if not user.is_admin:
            raise AuthenticationFailed(BAD_CREDENTIALS)
        return user

    def session_fingerprint(self, user: User) -> str:
        return credentials_fingerprint(user.hashed_password, self.settings.get_secret_key())

    async def user_for_admin_session(self, user_id: object, fingerprint: object) -> User:
        """The staff user an admin session belongs to, if it is still valid: the account is
        active staff and the password has not changed since the session began."""
        if not isinstance(user_id, int):
            raise AuthenticationFailed(INVALID_SESSION)
        user = await self.session.get(User, user_id)
        if user is None or not user.is_admin:
            raise AuthenticationFailed(INVALID_SESSION)
        if not fingerprints_match(self.session_fingerprint(user), fingerprint):
            raise AuthenticationFailed(INVALID_SESSION)
        return user
