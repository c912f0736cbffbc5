"""Signing in to the admin: a server-side session whose random key is all the cookie holds."""

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

from sqladmin.authentication import AuthenticationBackend
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backoffice.admin.csrf import new_csrf_token
from backoffice.errors import AuthenticationFailed, InvalidInput, Throttled
from backoffice.services import Caller
from backoffice.services.auth import AuthService
from backoffice.services.base import permission_codes
from backoffice.services.factors import SecondFactorService
from backoffice.services.second_step import PendingSignIn

if TYPE_CHECKING:
    from sqladmin import Admin
    from sqlmodel.ext.asyncio.session import AsyncSession

    from backoffice.office import BackOffice

SESSION_COOKIE = "backoffice_admin"
SESSION_KEY = "sid"
PENDING_KEY = "second_factor"
"""The session holds the challenge of a sign-in whose password was right, until its second
factor is given (the cookie is signed; the challenge itself is single-use and short-lived)."""
ENROL_FIRST = "Set up a second factor to continue: staff accounts need one."


class AdminAuth(AuthenticationBackend):
    admin: "Admin | None" = None
    """Set by ``setup_admin``; used to render the login page for a throttled attempt."""

    def __init__(self, office: "BackOffice") -> None:
        settings = office.settings
        super().__init__(
            secret_key=settings.get_secret_key(),
            session_cookie=SESSION_COOKIE,
            # The server decides when a session ends; the cookie just must not outlive it.
            max_age=settings.admin_session_max_age_seconds,
            path=settings.admin_path or "/",
            same_site="lax",
            https_only=settings.is_production,
        )
        self.office = office

    def _auth(self, session: "AsyncSession") -> AuthService:
        return self.office.auth(session, Caller.anonymous("admin"))

    async def login(self, request: Request) -> Response | bool:
        form = await request.form()
        login, password = form.get("username"), form.get("password")
        if isinstance(login, str):
            request.state.login_username = login[:320]  # kept on the form if refused
        if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
            return False
        try:
            async with self.office.session() as session:
                result = await self._auth(session).open_admin_session(
                    login,
                    password,
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent"),
                )
        except Throttled as exc:
            return await self._login_page(
                request, exc.detail, 429, {"Retry-After": str(exc.retry_after)}
            )
        except (AuthenticationFailed, InvalidInput):
            return False
        if isinstance(result, PendingSignIn):
            request.session.clear()
            request.session[PENDING_KEY] = result.challenge
            new_csrf_token(request.session)
            target = request.url_for("admin:login_second_factor").include_query_params(
                **({"next": request.query_params["next"]} if "next" in request.query_params else {})
            )
            return RedirectResponse(target, status_code=302)
        return self.signed_in(request, result)

    def signed_in(self, request: Request, key: str) -> Response:
        """Start the admin session ``key`` in this browser and go where the person was going."""
        request.session.clear()
        request.session[SESSION_KEY] = key
        new_csrf_token(request.session)  # a token seen before sign-in is worthless after it
        target = safe_next(request.query_params.get("next"), self.office.settings.admin_path)
        return RedirectResponse(target or request.url_for("admin:index"), status_code=302)

    async def logout(self, request: Request) -> bool:
        key = request.session.get(SESSION_KEY)
        async with self.office.session() as session:
            await self._auth(session).close_admin_session(key)
        request.session.clear()
        return False  # SQLAdmin then redirects to the login page

    async def authenticate(self, request: Request) -> Response | bool:
        try:
            async with self.office.session() as session:
                user = await self._auth(session).user_for_admin_session(
                    request.session.get(SESSION_KEY)
                )
                # Loaded once per request: menus, buttons and routes all ask.
                assert user.id is not None
                permissions = (
                    None if user.is_superuser else await permission_codes(session, user.id)
                )
                caller = Caller(user=user, door="admin", permissions=permissions)
                factors = SecondFactorService(session, caller, self.office.settings)
                caller.enrolment_pending = await factors.enrolment_pending(user)
                actions = (
                    {}
                    if caller.enrolment_pending
                    else await self._resource_actions(session, caller)
                )
        except AuthenticationFailed:
            request.session.pop(SESSION_KEY, None)
            if request.method == "GET":
                query = urlencode({"next": request.url.path})
                return RedirectResponse(
                    f"{request.url_for('admin:login')}?{query}", status_code=302
                )
            return False
        request.state.user = user
        request.state.permissions = permissions
        request.state.resource_actions = actions
        request.state.enrolment_pending = caller.enrolment_pending
        if caller.enrolment_pending and not _is_security_page(request):
            # Nothing but enrolment until a second factor is set up (the policy).
            if request.method == "GET":
                return RedirectResponse(request.url_for("admin:security"), status_code=302)
            return Response(ENROL_FIRST, status_code=403, media_type="text/plain")
        return True

    async def _resource_actions(
        self, session: "AsyncSession", caller: Caller
    ) -> dict[str, frozenset[str]]:
        from backoffice.admin.views import resource_actions  # (views import this module)

        if self.admin is None:
            return {}
        return await resource_actions(self.admin, self.office, session, caller)

    async def get_user_id(self, request: Request) -> Any:
        user = getattr(request.state, "user", None)
        return None if user is None else user.id

    async def _login_page(
        self, request: Request, error: str, status_code: int, headers: dict[str, str]
    ) -> Response:
        assert self.admin is not None
        response: Response = await self.admin.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": error}, status_code=status_code
        )
        response.headers.update(headers)
        return response


def safe_next(value: object, admin_path: str) -> str | None:
    """``value`` if it is a path inside the admin, else None: never an open redirect."""
    if not isinstance(value, str) or not value.startswith(f"{admin_path}/"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//") or "\\" in value:
        return None
    # Browsers resolve "..", also percent-encoded: "/admin/../api" is outside the admin.
    segments = unquote(parts.path).split("/")
    if any(segment in (".", "..") for segment in segments):
        return None
    return value


def admin_caller(request: Request) -> Caller:
    """The signed-in staff user, as the services see them."""
    unit = getattr(request.state, "audit_unit", None)
    caller = Caller(
        user=request.state.user,
        door="admin",
        permissions=getattr(request.state, "permissions", None),
        enrolment_pending=getattr(request.state, "enrolment_pending", False),
    )
    if unit is None:
        request.state.audit_unit = caller.unit  # one request, one unit (a bulk action's rows)
    else:
        caller.unit = unit
    return caller


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _is_security_page(request: Request) -> bool:
    """The pages an account waiting for enrolment may use: its own Security page."""
    security = request.url_for("admin:security").path
    return request.url.path == security or request.url.path.startswith(f"{security}/")
