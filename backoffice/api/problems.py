"""One error shape for the whole API: RFC 9457 problem details (``application/problem+json``)."""

import logging
import os
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler as fastapi_http_exception_handler,
)
from fastapi.exception_handlers import (
    request_validation_exception_handler as fastapi_validation_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.api.request_errors import input_location, json_syntax_error, wrong_content_type
from backoffice.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RevertRefused,
    Stale,
    Throttled,
)

logger = logging.getLogger("backoffice.api")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    AuthenticationFailed: 401,
    InvalidInput: 422,
    Throttled: 429,
    Stale: 412,
}
RETRY_AFTER_SECONDS = 5
PROBLEM_MEDIA_TYPE = "application/problem+json"
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class ProblemFieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemFieldError] | None = None
    current_version: int | None = None
    """On a 412: the record's version now (also its ``ETag``), to read it again."""
    reasons: list[str] | None = None
    """On a refused revert (409 ``revert_refused``): why, entry by entry."""
    forcible: bool | None = None
    """On a refused revert: would ``force=true`` put it through (for this caller)?"""


# An HTTP error raised outside a service gets the code its domain twin has (``errors.py``), so a
# client tells a 404 from a 404 by type alone; other statuses take their phrase ("not_found").
_CODE_BY_STATUS = {401: "authentication_failed", 403: "permission_denied", 409: "conflict"}


def _status_code_name(status: int) -> str:
    return _CODE_BY_STATUS.get(status) or _status_phrase(status).lower().replace(" ", "_")


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_for(exc: DomainError) -> int:
    for error_type, status in STATUS_BY_ERROR.items():
        if isinstance(exc, error_type):
            return status
    return 400


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route, so OpenAPI lists the errors it can answer."""
    return {
        status: {
            "description": _status_phrase(status),
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": f"urn:backoffice:problem:{code}" if code else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming ``X-Request-ID``) for logs and
    error responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        raw_id = incoming if _REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex().encode()
        scope.setdefault("state", {})["request_id"] = raw_id.decode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", raw_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuses API request bodies over ``max_bytes`` with a 413 problem, before they are
    parsed: at once when Content-Length says so, else as soon as the stream passes the limit."""

    def __init__(self, app: ASGIApp, *, prefix: str, max_bytes: int) -> None:
        self.app = app
        self.prefix = prefix
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            request = Request(scope)
            response = problem(request, 413, "Content too large", self._detail(), code="too_large")
            await response(scope, receive, send)
            return
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, receive_with_limit, send)

    def _detail(self) -> str:
        return f"The request body is larger than the limit of {self.max_bytes} bytes."


class UnexpectedErrorMiddleware:
    """Mounted in a host app, an unexpected error under the API prefix is still a problem with
    the request id (the host's own paths keep the host's handling).

    A standalone app answers these with an ``Exception`` handler, but in a host app that
    handler would take over the host's own routes too; this middleware answers only for
    ``prefix``. It sits inside ``RequestIdMiddleware``, which adds the id to the response.
    """

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as exc:
            if started:
                raise  # the response is already under way; the server closes it
            request = Request(scope)
            response = unexpected_error(request, exc, id_header=False)
            await response(scope, receive, send)


def unexpected_error(request: Request, exc: Exception, *, id_header: bool = True) -> Response:
    """A 500 problem that quotes the request id, with the error logged under that id (and the
    id in a header, unless ``RequestIdMiddleware`` will add it)."""
    request_id = request_id_of(request)
    logger.exception("unexpected error [request %s]", request_id, exc_info=exc)
    return problem(
        request,
        500,
        "Internal server error",
        f"An unexpected error occurred. Quote request id {request_id} when reporting it.",
        code="internal_error",
        headers={"X-Request-ID": request_id} if id_header else None,
    )


def install_problem_handlers(app: FastAPI, *, only_under: str | None = None) -> None:
    """Answer errors as problem details: everywhere, or (mounted in a host app) only for paths
    under ``only_under``, leaving the host's own paths to its own handlers."""

    def ours(request: Request) -> bool:
        return only_under is None or request.url.path.startswith(only_under)

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(exc.retry_after)}
        extra: dict[str, Any] | None = None
        if isinstance(exc, Stale):
            headers = {"ETag": f'"{exc.current_version}"'}
            extra = {"current_version": exc.current_version}
        if isinstance(exc, RevertRefused):
            extra = {"reasons": exc.reasons, "forcible": exc.forcible}
        errors = None
        if isinstance(exc, InvalidInput):
            errors = [
                {
                    "loc": [input_location(request, e.field), e.field],
                    "msg": e.message,
                    "type": "value_error",
                }
                for e in exc.errors
            ]
        elif isinstance(exc, Conflict) and exc.field:
            where = input_location(request, exc.field)
            errors = [{"loc": [where, exc.field], "msg": exc.detail, "type": "conflict"}]
        return problem(
            request,
            status,
            exc.title,
            exc.detail,
            code=exc.code,
            errors=errors,
            headers=headers,
            extra=extra,
        )

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not ours(request):
            return await fastapi_http_exception_handler(request, exc)
        title = _status_phrase(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 400:
            # FastAPI and Starlette answer 400 when a body cannot be decoded at all (bytes that
            # are not UTF-8, a broken multipart form), but 422 for one that is not valid JSON:
            # one status for "the input is unusable" keeps clients simple.
            error = {"loc": ["body"], "msg": detail, "type": "body_unparsable"}
            return problem(
                request, 422, "Invalid input", detail, code="validation_error", errors=[error]
            )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path; there is
            # one route per method, so name them all.
            headers["Allow"] = ", ".join(_documented_methods(request)) or headers.get("Allow", "")
        # Copy the headers: a 401 without WWW-Authenticate breaks clients.
        code = _status_code_name(exc.status_code)
        return problem(request, exc.status_code, title, detail, code=code, headers=headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not ours(request):
            return await fastapi_validation_handler(request, exc)
        raw_errors = list(exc.errors())
        located = json_syntax_error(raw_errors, exc.body)
        if located is not None:
            error = {"loc": ["body"], "msg": located, "type": "json_invalid"}
            detail = f"The body is not valid JSON: {located}."
            return problem(
                request, 422, "Invalid input", detail, code="validation_error", errors=[error]
            )
        mismatch = wrong_content_type(request, raw_errors)
        if mismatch is not None:
            return problem(
                request,
                415,
                "Unsupported media type",
                mismatch.detail,
                code="unsupported_media_type",
                headers={"Accept": mismatch.takes},
            )
        # Never echo the input back: it may be a password.
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in raw_errors
        ]
        summary = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:] or e['loc']))}: {e['msg']}" for e in errors
        )
        return problem(
            request,
            422,
            "Invalid input",
            summary or "The request is invalid.",
            code="validation_error",
            errors=errors,
        )

    async def on_integrity_error(request: Request, exc: Exception) -> Response:
        logger.warning("integrity error [request %s]: %s", request_id_of(request), exc)
        return problem(
            request, 409, "Conflict", "The change conflicts with existing data.", code="conflict"
        )

    async def on_database_unavailable(request: Request, exc: Exception) -> Response:
        logger.error("database unavailable [request %s]: %s", request_id_of(request), exc)
        return problem(
            request,
            503,
            "Service unavailable",
            "The database is not answering; try again shortly.",
            code="database_unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_unexpected_error(request: Request, exc: Exception) -> Response:
        # Starlette sends this response from outside every middleware, RequestIdMiddleware
        # included, so ``unexpected_error`` sets the header itself.
        return unexpected_error(request, exc)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(HTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    for error in (OperationalError, InterfaceError, PoolTimeout, ConnectionError):
        app.add_exception_handler(error, on_database_unavailable)
    if only_under is None:
        app.add_exception_handler(Exception, on_unexpected_error)
    state = getattr(app.state, "backoffice", None)
    document_problems(app, api_prefix=only_under or (state.settings.api_prefix if state else ""))


def _documented_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the request's path. A literal segment beats
    a parameter, as in routing: ``/users/me`` is not ``/users/{user_id}``."""
    wanted = request.url.path.split("/")
    best: tuple[int, set[str]] = (-1, set())
    for template, item in request.app.openapi().get("paths", {}).items():
        parts = template.split("/")
        if len(parts) != len(wanted):
            continue
        literal = 0
        for part, segment in zip(parts, wanted, strict=True):
            if part.startswith("{") and part.endswith("}") and segment:
                continue
            if part != segment:
                break
            literal += 1
        else:
            methods = {method.upper() for method in item if method != "parameters"}
            if literal > best[0]:
                best = (literal, methods)
            elif literal == best[0]:
                best[1].update(methods)
    return sorted(best[1])


def document_problems(app: FastAPI, *, api_prefix: str) -> None:
    """Make the OpenAPI document tell the whole truth about the errors of the operations under
    ``api_prefix``: each problem is ``application/problem+json`` with the Problem schema, and
    beside what a route declares, every one can answer 503 (the database is unavailable) and
    every one that takes a body 413 (``BodyLimitMiddleware``) and 415 (a body of another type).
    Amended once, when built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(build(), api_prefix)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string"},
    }
}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: RETRY_AFTER_HEADER,
    503: RETRY_AFTER_HEADER,
}


def _document_problems(document: dict[str, Any], api_prefix: str) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem_schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("Problem", problem_schema)
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    validation_ref = "#/components/schemas/HTTPValidationError"

    for path, item in document.get("paths", {}).items():
        if not path.startswith(api_prefix):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            extra = [503, 413, 415] if "requestBody" in operation else [503]
            for status in extra:
                responses.setdefault(str(status), {"content": {PROBLEM_MEDIA_TYPE: {}}})
            for key, response in responses.items():
                if not key.isdigit() or int(key) < 400:
                    continue
                content = response.get("content", {})
                json_schema = content.get("application/json", {}).get("schema", {})
                if PROBLEM_MEDIA_TYPE not in content and json_schema.get("$ref") != validation_ref:
                    continue  # an error that is not a problem: leave it as declared
                response["description"] = _status_phrase(int(key))
                response["content"] = problem_content
                if int(key) in RESPONSE_HEADERS:
                    response["headers"] = RESPONSE_HEADERS[int(key)]
