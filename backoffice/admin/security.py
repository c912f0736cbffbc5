"""The "Security" page of one's own account, and a superuser's view of another user's.

The page is a list of sections (``SECURITY_SECTIONS``): an authenticator app, recovery codes,
passkeys and sessions. Another feature adds its own (API keys, say) by appending a
``SecuritySection`` whose template reads what it needs from the page's context; its actions
are its own routes. Every rule is a service's (factors, passkeys, sessions).
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqladmin import Admin, Flash
from sqladmin.authentication import login_required
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.auth import SESSION_KEY, admin_caller
from backoffice.admin.lookup import AdminPage, object_or_404, render, service_view
from backoffice.admin.users import UserAdmin
from backoffice.errors import DomainError, InvalidInput
from backoffice.services.credentials import CredentialService
from backoffice.services.factors import SecondFactorService
from backoffice.services.passkeys import PasskeyService
from backoffice.services.sessions import Current, SessionService

TEMPLATE = "backoffice/security.html"
USER_TEMPLATE = "backoffice/user_security.html"


@dataclass(frozen=True)
class SecuritySection:
    """One card of the Security page: ``template`` is included with the page's context."""

    key: str
    title: str
    template: str


SECURITY_SECTIONS: list[SecuritySection] = [
    SecuritySection("totp", "Authenticator app", "backoffice/security/_totp.html"),
    SecuritySection("recovery", "Recovery codes", "backoffice/security/_recovery.html"),
    SecuritySection("passkeys", "Passkeys", "backoffice/security/_passkeys.html"),
    SecuritySection("sessions", "Where you are signed in", "backoffice/security/_sessions.html"),
]
"""The page's sections, in order; append to add one."""


def _error(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput):
        return " ".join(error.message for error in exc.errors)
    return exc.detail


def _field(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value if isinstance(value, str) and len(value) <= limit else ""


class SecurityPage(AdminPage):
    def __init__(self, admin: Admin, office: Any) -> None:
        super().__init__(admin)
        self.office = office

    async def _context(self, request: Request, **extra: Any) -> dict[str, Any]:
        caller = admin_caller(request)
        async with self.office.session() as session:
            overview = await SecondFactorService(session, caller, self.office.settings).overview()
            current = await CredentialService(session).admin_session_id(
                request.session.get(SESSION_KEY)
            )
            sessions = await SessionService(session, caller).list(
                current=Current(admin_session=current)
            )
        return {
            "title": "Security",
            "sections": SECURITY_SECTIONS,
            "factors": overview,
            "sessions": sessions,
            "enrolment_pending": getattr(request.state, "enrolment_pending", False),
            **extra,
        }

    @login_required
    async def show(self, request: Request) -> Response:
        return await render(self._admin_ref, request, TEMPLATE, await self._context(request))

    @login_required
    async def act(self, request: Request) -> Response:
        action = request.path_params["action"]
        handler = self.actions().get(action)
        if handler is None:
            raise HTTPException(status_code=404)
        form = await request.form()
        try:
            return await handler(request, form)
        except DomainError as exc:
            if action.startswith("passkey-options"):
                return JSONResponse({"detail": _error(exc)}, status_code=400)
            context = await self._context(request, error=_error(exc))
            return await render(self._admin_ref, request, TEMPLATE, context, status_code=400)

    def actions(self) -> dict[str, Callable[[Request, Any], Awaitable[Response]]]:
        return {
            "totp-start": self._totp_start,
            "totp-confirm": self._totp_confirm,
            "totp-remove": self._totp_remove,
            "recovery-codes": self._recovery_codes,
            "passkey-options": self._passkey_options,
            "passkey-add": self._passkey_add,
            "passkey-remove": self._passkey_remove,
            "session-end": self._session_end,
            "sessions-end-others": self._sessions_end_others,
        }

    async def _run(self, request: Request, work: Callable[[Any], Awaitable[Any]]) -> Any:
        async with self.office.session() as session:
            return await work(session)

    def _factors(self, session: Any, request: Request) -> SecondFactorService:
        return SecondFactorService(session, admin_caller(request), self.office.settings)

    def _passkeys(self, session: Any, request: Request) -> PasskeyService:
        return PasskeyService(session, admin_caller(request), self.office.settings)

    def _back(self, request: Request, message: str) -> Response:
        Flash.success(request, message)
        return RedirectResponse(request.url_for("admin:security"), status_code=302)

    async def _page(self, request: Request, **extra: Any) -> Response:
        context = await self._context(request, **extra)
        return await render(self._admin_ref, request, TEMPLATE, context)

    async def _totp_start(self, request: Request, form: Any) -> Response:
        setup = await self._run(request, lambda s: self._factors(s, request).start_totp())
        return await self._page(request, totp_setup=setup)

    async def _totp_confirm(self, request: Request, form: Any) -> Response:
        code = _field(form, "code", 40)
        codes = await self._run(request, lambda s: self._factors(s, request).confirm_totp(code))
        return await self._page(request, recovery_codes=codes, done="authenticator app")

    async def _totp_remove(self, request: Request, form: Any) -> Response:
        await self._run(request, lambda s: self._factors(s, request).remove_totp())
        return self._back(request, "The authenticator app was removed.")

    async def _recovery_codes(self, request: Request, form: Any) -> Response:
        codes = await self._run(
            request, lambda s: self._factors(s, request).regenerate_recovery_codes()
        )
        return await self._page(request, recovery_codes=codes)

    async def _passkey_options(self, request: Request, form: Any) -> Response:
        options, ceremony = await self._run(
            request, lambda s: self._passkeys(s, request).registration_options()
        )
        return JSONResponse({"ceremony": ceremony, "options": json.loads(options)})

    async def _passkey_add(self, request: Request, form: Any) -> Response:
        ceremony = _field(form, "passkey_ceremony")
        credential = _field(form, "passkey_credential", 8000)
        name = _field(form, "name", 100)
        await self._run(
            request, lambda s: self._passkeys(s, request).register(ceremony, credential, name)
        )
        return self._back(request, f"The passkey {name} was added.")

    async def _passkey_remove(self, request: Request, form: Any) -> Response:
        passkey_id = _field(form, "id", 12)
        if not passkey_id.isdigit():
            raise InvalidInput.single("id", "Choose a passkey to remove.")
        await self._run(request, lambda s: self._passkeys(s, request).remove(int(passkey_id)))
        return self._back(request, "The passkey was removed.")

    async def _session_end(self, request: Request, form: Any) -> Response:
        session_id = _field(form, "id", 40)
        await self._run(request, lambda s: SessionService(s, admin_caller(request)).end(session_id))
        return self._back(request, "The session was ended.")

    async def _sessions_end_others(self, request: Request, form: Any) -> Response:
        async def work(session: Any) -> int:
            current = await CredentialService(session).admin_session_id(
                request.session.get(SESSION_KEY)
            )
            service = SessionService(session, admin_caller(request))
            return await service.end_others(Current(admin_session=current))

        ended = await self._run(request, work)
        return self._back(request, f"Signed out everywhere else ({ended} ended).")

    # -- a superuser's view of another user ---------------------------------------------------

    @login_required
    async def user(self, request: Request) -> Response:
        view = service_view(self._admin_ref, request.path_params["identity"])
        if not isinstance(view, UserAdmin) or not may_manage_security(request):
            raise HTTPException(status_code=404)
        user = await object_or_404(view, request)
        caller = admin_caller(request)
        if request.method == "POST":
            action = _field(await request.form(), "action", 40)
            async with self.office.session() as session:
                if action == "remove-factors":
                    factors = SecondFactorService(session, caller, self.office.settings)
                    await factors.remove_all(user.id)
                    message = f"The second factors of {user.username} were removed"
                elif action == "end-sessions":
                    await SessionService(session, caller).end_all(user.id)
                    message = f"Every session of {user.username} ended"
                else:
                    raise HTTPException(status_code=400, detail="Unknown action.")
            Flash.success(request, f"{message}; they sign in again.")
            target = request.url_for("admin:user_security", identity=view.identity, pk=user.id)
            return RedirectResponse(target, status_code=302)
        async with self.office.session() as session:
            overview = await SecondFactorService(session, caller, self.office.settings).overview(
                user
            )
            sessions = await SessionService(session, caller).list(user.id)
        context = {
            "title": f"Security of {user.username}",
            "model_view": view,
            "model": user,
            "factors": overview,
            "sessions": sessions,
        }
        return await render(self._admin_ref, request, USER_TEMPLATE, context)


def may_manage_security(request: Request) -> bool:
    """Another user's factors and sessions are a superuser's to manage."""
    return admin_caller(request).is_superuser


def security_routes(admin: Admin, office: Any) -> list[Route]:
    page = SecurityPage(admin, office)
    return [
        Route("/security", page.show, methods=["GET"], name="security"),
        Route("/security/{action}", page.act, methods=["POST"], name="security_action"),
        Route(
            "/{identity}/security/{pk:path}",
            page.user,
            methods=["GET", "POST"],
            name="user_security",
        ),
    ]
