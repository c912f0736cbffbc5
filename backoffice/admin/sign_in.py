"""The admin's sign-in beyond the password: the second-factor page (a code, a recovery code or
a passkey) and passwordless sign-in with a passkey. The rules are the services' (AuthService,
SecondStep); these handlers only carry forms and the browser's WebAuthn answers."""

import json
from typing import TYPE_CHECKING

from sqladmin import Admin
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.auth import PENDING_KEY, AdminAuth, client_address
from backoffice.errors import AuthenticationFailed, InvalidInput, Throttled
from backoffice.services import Caller
from backoffice.services.second_step import Answer

if TYPE_CHECKING:
    from backoffice.office import BackOffice

TEMPLATE = "backoffice/second_factor.html"
MAX_CREDENTIAL_LENGTH = 8000


def _text(form: object, name: str, limit: int = 200) -> str | None:
    value = form.get(name) if hasattr(form, "get") else None
    return value if isinstance(value, str) and value and len(value) <= limit else None


def sign_in_routes(office: "BackOffice", admin: Admin, backend: AdminAuth) -> list[Route]:
    async def page(request: Request, error: str | None = None, status: int = 200) -> Response:
        response: Response = await admin.templates.TemplateResponse(
            request, TEMPLATE, {"error": error}, status_code=status
        )
        return response

    async def second_factor(request: Request) -> Response:
        challenge = request.session.get(PENDING_KEY)
        if not isinstance(challenge, str):
            return RedirectResponse(request.url_for("admin:login"), status_code=302)
        if request.method == "GET":
            return await page(request)
        form = await request.form()
        answer = Answer(
            code=_text(form, "code", 40),
            passkey_ceremony=_text(form, "passkey_ceremony"),
            passkey_credential=_text(form, "passkey_credential", MAX_CREDENTIAL_LENGTH),
        )
        if answer.code is None and answer.passkey_credential is None:
            return await page(request, "Enter the code from your app, or a recovery code.", 400)
        try:
            async with office.session() as session:
                key = await office.auth(session, Caller.anonymous("admin")).complete_admin_sign_in(
                    challenge,
                    answer,
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent"),
                )
        except Throttled as exc:
            response = await page(request, exc.detail, 429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except AuthenticationFailed as exc:
            return await page(request, exc.detail, 400)
        return backend.signed_in(request, key)

    async def second_factor_passkey_options(request: Request) -> Response:
        challenge = request.session.get(PENDING_KEY)
        try:
            async with office.session() as session:
                auth = office.auth(session, Caller.anonymous("admin"))
                options, ceremony = await auth.second_step.passkey_options(str(challenge))
        except AuthenticationFailed as exc:
            return JSONResponse({"detail": exc.detail}, status_code=400)
        return JSONResponse({"ceremony": ceremony, "options": json.loads(options)})

    async def passkey_options(request: Request) -> Response:
        async with office.session() as session:
            auth = office.auth(session, Caller.anonymous("admin"))
            options, ceremony = await auth.second_step.passkeys(auth.caller).sign_in_options()
        return JSONResponse({"ceremony": ceremony, "options": json.loads(options)})

    async def passkey_sign_in(request: Request) -> Response:
        form = await request.form()
        ceremony = _text(form, "passkey_ceremony")
        credential = _text(form, "passkey_credential", MAX_CREDENTIAL_LENGTH)
        try:
            if ceremony is None or credential is None:
                raise InvalidInput.single("passkey", "No passkey answer came with the form.")
            async with office.session() as session:
                key = await office.auth(session, Caller.anonymous("admin")).passkey_admin_sign_in(
                    ceremony,
                    credential,
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent"),
                )
        except (AuthenticationFailed, InvalidInput) as exc:
            detail = (
                exc.detail if isinstance(exc, AuthenticationFailed) else str(exc.errors[0].message)
            )
            response: Response = await admin.templates.TemplateResponse(
                request, "sqladmin/login.html", {"error": detail}, status_code=400
            )
            return response
        return backend.signed_in(request, key)

    return [
        Route(
            "/login/second-factor",
            second_factor,
            methods=["GET", "POST"],
            name="login_second_factor",
        ),
        Route(
            "/login/second-factor/passkey-options",
            second_factor_passkey_options,
            methods=["POST"],
            name="login_second_factor_passkey_options",
        ),
        Route(
            "/login/passkey-options",
            passkey_options,
            methods=["POST"],
            name="login_passkey_options",
        ),
        Route("/login/passkey", passkey_sign_in, methods=["POST"], name="login_passkey"),
    ]
