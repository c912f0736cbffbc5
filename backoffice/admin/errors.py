"""The admin's error pages: 403, 404 and 500 inside its layout, with the menu and a way back."""

import logging

from sqladmin import Admin
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

logger = logging.getLogger("backoffice.admin")
RETRY_AFTER_SECONDS = 5


def install_error_pages(admin: Admin) -> None:
    """SQLAdmin renders HTTP errors with ``sqladmin/error.html`` (ours, in the layout); an
    unexpected error gets the same page with status 500 and the request id to quote."""

    async def server_error(request: Request, exc: Exception) -> Response:
        request_id = str(request.scope.get("state", {}).get("request_id", "-"))
        status, headers = 500, {}
        if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
            logger.error("database unavailable [request %s]: %s", request_id, exc)
            status, headers = 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        else:
            logger.exception("unexpected admin error [request %s]", request_id, exc_info=exc)
        context = {"status_code": status, "message": "", "request_id": request_id}
        try:
            response: Response = await admin.templates.TemplateResponse(
                request, "sqladmin/error.html", context, status_code=status
            )
            response.headers.update(headers)
        except Exception:  # the layout itself failed (a database outage): plain words then
            logger.exception("the admin's error page failed [request %s]", request_id)
            return PlainTextResponse(
                f"Internal server error. Quote request id {request_id} when reporting it.",
                status_code=500,
            )
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        await _know_the_user(admin, request)
        context = {"status_code": exc.status_code, "message": exc.detail}
        response: Response = await admin.templates.TemplateResponse(
            request, "sqladmin/error.html", context, status_code=exc.status_code
        )
        response.headers.update(exc.headers or {})
        return response

    admin.admin.exception_handlers[HTTPException] = http_error
    admin.admin.exception_handlers[Exception] = server_error


async def _know_the_user(admin: Admin, request: Request) -> None:
    """A path no route has (a 404 before any page asked who is signed in): ask now, so the
    error page shows the menu this user has."""
    if getattr(request.state, "user", None) is not None or admin.authentication_backend is None:
        return
    try:
        await admin.authentication_backend.authenticate(request)
    except Exception:  # the page is shown without a menu rather than not at all
        logger.exception("could not tell who is signed in for an error page")
