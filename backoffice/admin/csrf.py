"""CSRF protection for the admin (SQLAdmin has none).

A token lives in the signed session; every request but a GET must echo it, either as the
``csrf_token`` form field (forms) or the ``X-CSRF-Token`` header (the JavaScript DELETE), and
come from our own origin when the browser says where it came from. HEAD is no exception:
SQLAdmin's form endpoints treat any method but GET as a submission. A HEAD that passes the
check is then served as a GET without its body, so it never reaches a handler that writes.

The body is read (to find the form's token) only up to a limit that depends on who sends it:
a few kilobytes without a signed-in session (enough for the login and password reset forms),
more for signed-in staff. The session is a signed cookie, so whether it names a sign-in is
known before a byte of the body is read; a larger body is refused with 413 at once when
Content-Length says so, else as soon as the stream passes the limit.
"""

import hmac
import secrets
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET"})
MAX_FORM_BYTES = 10 * 1024 * 1024
"""The largest body a signed-in staff user may send."""
MAX_ANONYMOUS_BYTES = 16 * 1024
"""The largest body without a signed-in session: the login and password reset forms."""

_current_token: ContextVar[str] = ContextVar("backoffice_csrf_token", default="")


def current_csrf_token() -> str:
    """The token of the request being handled (for forms and templates)."""
    return _current_token.get()


def new_csrf_token(session: dict[str, Any]) -> str:
    """Replace the token, e.g. on sign-in, so one seen before it is worthless after."""
    token = secrets.token_urlsafe(32)
    session[SESSION_KEY] = token
    _current_token.set(token)
    return token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class CSRFMiddleware:
    """Must sit inside the session middleware (it reads ``scope["session"]``)."""

    def __init__(self, app: ASGIApp, *, trusted_origins: list[str], signed_in_key: str) -> None:
        self.app = app
        self.trusted_origins = {_origin(o) for o in trusted_origins}
        self.signed_in_key = signed_in_key
        """The session key a sign-in sets (auth.py): its presence selects the larger limit."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session: dict[str, Any] = scope["session"]
        token = session.get(SESSION_KEY)
        if not isinstance(token, str) or not token:
            token = new_csrf_token(session)
        _current_token.set(token)

        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        request = Request(scope)
        refusal = self._origin_refusal(request)
        if refusal:
            await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
            return

        limit = MAX_FORM_BYTES if session.get(self.signed_in_key) else MAX_ANONYMOUS_BYTES
        too_large = PlainTextResponse(
            f"The request body is larger than the limit of {limit} bytes.", status_code=413
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                await too_large(scope, receive, send)
                return
        body = b"".join(chunks)

        given = request.headers.get(HEADER)
        if given is None and _is_form(request):
            try:
                async with Request(scope, _replay(body, receive)).form() as form:
                    value = form.get(FORM_FIELD)
            except HTTPException as exc:
                # A form Starlette will not parse (a field over 1 MB, too many fields): raised
                # here, outside SQLAdmin's exception handling, it would become a 500.
                response = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
                await response(scope, receive, send)
                return
            given = value if isinstance(value, str) else None
        if not given or not hmac.compare_digest(given, token):
            response = PlainTextResponse(
                "The form has expired or did not come from this site (CSRF check failed). "
                "Reload the page and try again.",
                status_code=403,
            )
            await response(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            # A page's headers, never a submission: SQLAdmin would take it for a POST.
            await self.app({**scope, "method": "GET"}, _replay(b"", receive), send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _origin_refusal(self, request: Request) -> str | None:
        source = request.headers.get("origin") or request.headers.get("referer")
        if not source or source == "null":
            # No Origin/Referer (old browsers, privacy settings): the token alone decides,
            # except that an explicit "null" origin (sandboxed frames) is never ours.
            return "Cross-origin request refused." if source == "null" else None
        own = _origin(str(request.base_url))
        if _origin(source) in self.trusted_origins | {own}:
            return None
        return "Cross-origin request refused."


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read here, once; then the server's own messages (a response that streams
    waits on them for the client's disconnect: answering it the body again would spin)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
