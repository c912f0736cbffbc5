"""Signing in to the admin: a signed session cookie bound to the staff user's password."""

from typing import TYPE_CHECKING

from sqladmin.authentication import AuthenticationBackend
from starlette.requests import Request
from starlette.responses import Response

from backoffice.admin.csrf import new_csrf_token
from backoffice.errors import AuthenticationFailed
from backoffice.services import Caller
from backoffice.services.auth import AuthService

if TYPE_CHECKING:
    from backoffice.office import BackOffice

SESSION_COOKIE = "backoffice_admin"


class AdminAuth(AuthenticationBackend):
    def __init__(self, office: "BackOffice") -> None:
        settings = office.settings
        super().__init__(
            secret_key=settings.get_secret_key(),
            session_cookie=SESSION_COOKIE,
            max_age=settings.admin_session_max_age_seconds,
            path=settings.admin_path or "/",
            same_site="lax",
            https_only=settings.is_production,
        )
        self.office = office

    def _auth(self, session: object) -> AuthService:
        office = self.office
        return AuthService(session, Caller.anonymous("admin"), office.hasher, office.settings)  # type: ignore[arg-type]

    async def login(self, request: Request) -> bool:
        form = await request.form()
        login, password = form.get("username"), form.get("password")
        if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
            return False
        try:
            async with self.office.session() as session:
                auth = self._auth(session)
                user = await auth.login_staff(login, password)
                fingerprint = auth.session_fingerprint(user)
        except AuthenticationFailed:
            return False
        request.session.clear()
        request.session.update({"user_id": user.id, "auth": fingerprint})
        new_csrf_token(request.session)
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return False  # sqladmin then redirects to the login page

    async def authenticate(self, request: Request) -> Response | bool:
        try:
            async with self.office.session() as session:
                user = await self._auth(session).user_for_admin_session(
                    request.session.get("user_id"), request.session.get("auth")
                )
        except AuthenticationFailed:
            request.session.pop("user_id", None)
            request.session.pop("auth", None)
            return False
        request.state.user = user
        return True


def admin_caller(request: Request) -> Caller:
    """The signed-in staff user, as the services see them."""
    return Caller(user=request.state.user, door="admin")
