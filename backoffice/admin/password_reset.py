"""The admin's "forgot your password" pages, on the same service as the API's reset."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqladmin import Admin
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.errors import InvalidInput, Throttled
from backoffice.services import Caller

if TYPE_CHECKING:
    from backoffice.office import BackOffice

_EMAIL = TypeAdapter(EmailStr)


def password_reset_routes(office: "BackOffice", admin: Admin) -> list[Route]:
    async def page(
        request: Request, template: str, context: Mapping[str, object], status_code: int = 200
    ) -> Response:
        response: Response = await admin.templates.TemplateResponse(
            request, f"backoffice/{template}", dict(context), status_code=status_code
        )
        return response

    async def request_reset(request: Request) -> Response:
        if request.method == "GET":
            return await page(request, "password_reset.html", {})
        form = await request.form()
        email = form.get("email")
        try:
            address = _EMAIL.validate_python(email if isinstance(email, str) else "")
        except ValidationError:
            return await page(
                request,
                "password_reset.html",
                {"error": "Enter a valid email address.", "email": email},
                status_code=400,
            )
        try:
            async with office.session() as session:
                mail = await office.auth(session, Caller.anonymous("admin")).request_password_reset(
                    address,
                    reset_page=office.settings.reset_page_path,
                    address=request.client.host if request.client else None,
                )
        except Throttled as exc:
            response = await page(
                request,
                "password_reset.html",
                {"error": exc.detail, "email": address},
                status_code=429,
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        response = await page(request, "password_reset_done.html", {})
        if mail is not None:
            response.background = BackgroundTask(office.mailer.deliver, mail)
        return response

    async def confirm_reset(request: Request) -> Response:
        if request.method == "GET":
            token_in_link = request.query_params.get("token", "")
            try:  # a used or expired link says so now, not after the form is filled
                async with office.session() as session:
                    await office.auth(session, Caller.anonymous("admin")).check_reset_token(
                        token_in_link
                    )
            except InvalidInput as exc:
                said = {"link_error": " ".join(e.message for e in exc.errors)}
                return await page(request, "password_reset_confirm.html", dict(said), 400)
            return await page(request, "password_reset_confirm.html", {"token": token_in_link})
        form = await request.form()
        token, first, second = (form.get(k) for k in ("token", "new_password", "new_password2"))
        context: dict[str, object] = {"token": token if isinstance(token, str) else ""}
        if not all(isinstance(v, str) and v for v in (token, first, second)):
            context["error"] = "Fill in both password fields."
        elif first != second:
            context["error"] = "The two passwords differ."
        else:
            try:
                async with office.session() as session:
                    await office.auth(session, Caller.anonymous("admin")).reset_password(
                        str(token), str(first)
                    )
            except InvalidInput as exc:
                context["error"] = " ".join(e.message for e in exc.errors)
            else:
                return await page(request, "password_reset_complete.html", {})
        return await page(request, "password_reset_confirm.html", context, status_code=400)

    return [
        Route("/password-reset", request_reset, methods=["GET", "POST"], name="password_reset"),
        Route(
            "/password-reset/confirm",
            confirm_reset,
            methods=["GET", "POST"],
            name="password_reset_confirm",
        ),
    ]
