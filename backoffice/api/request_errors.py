"""What is wrong with a request before its values are looked at, said so a person can fix it:
where a JSON body breaks and what was expected there, a body sent in a type the route does
not take (415, naming the one it takes), and where an input value was (``query`` or ``body``)."""

import email.message
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
FORM_TYPES = (FORM, "multipart/form-data")

# Python's JSON messages, in the words of the issue a client reads.
_EXPECTED = {
    "Expecting ',' delimiter": "expected ','",
    "Expecting ':' delimiter": "expected ':'",
    "Expecting value": "expected a value",
    "Expecting property name enclosed in double quotes": "expected a name in double quotes",
    "Extra data": "unexpected data after the JSON value",
    "Unterminated string starting at": "a string is not closed",
    "Invalid control character at": "a control character inside a string must be escaped",
    "Invalid \\escape": "invalid escape in a string",
}


def json_syntax_message(document: str, position: int, reason: str) -> str:
    """``line 1, column 27: expected ',' or '}'`` for a JSON decode failure at ``position``."""
    before = document[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    expected = _EXPECTED.get(reason, reason[:1].lower() + reason[1:])
    if reason == "Expecting ',' delimiter":
        closer = "'}'" if _innermost_container(before) == "{" else "']'"
        expected = f"expected ',' or {closer}"
    return f"line {line}, column {column}: {expected}"


def _innermost_container(text: str) -> str | None:
    """The bracket (``{`` or ``[``) still open at the end of ``text``, strings skipped."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else None


def json_syntax_error(errors: list[dict[str, Any]], body: Any) -> str | None:
    """The located message for FastAPI's ``json_invalid`` error, when that is the error."""
    for error in errors:
        if error.get("type") != "json_invalid":
            continue
        loc = error.get("loc", ())
        position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        reason = str((error.get("ctx") or {}).get("error", "invalid JSON"))
        document = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return json_syntax_message(document, position, reason)
    return None


@dataclass(frozen=True)
class WrongContentType:
    """A body sent in a type the route does not read: what it takes, and what came."""

    takes: str
    sent: str

    @property
    def detail(self) -> str:
        sent = f"was sent as {self.sent}" if self.sent else "has no Content-Type"
        if self.takes == FORM:
            return f"This endpoint takes a form ({FORM}), but the request {sent}."
        return f"This endpoint takes {self.takes}, but the request {sent}."


def _media_type(request: Request) -> str:
    header = request.headers.get("content-type", "")
    if not header:
        return ""
    message = email.message.Message()
    message["content-type"] = header
    return message.get_content_type()


def wrong_content_type(request: Request, errors: list[dict[str, Any]]) -> WrongContentType | None:
    """When the body failed validation because it came in a type the route does not read."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return None
    if not any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors):
        return None
    sent = _media_type(request)
    if isinstance(route.body_field.field_info, params.Form):
        return None if sent in FORM_TYPES else WrongContentType(FORM, sent)
    if sent == JSON or sent.endswith("+json"):
        return None
    if not sent and not request.headers.get("content-length", "0").strip("0"):
        return None  # no body at all: a missing body, said as such
    return WrongContentType(JSON, sent)


def input_location(request: Request, field: str) -> str:
    """Where a value named ``field`` came from: ``query`` for a parameter of the query string on
    a route that reads no body (or whose body has no such field), else ``body``."""
    if field not in request.query_params:
        return "body"
    route = request.scope.get("route")
    body_field = route.body_field if isinstance(route, APIRoute) else None
    if body_field is None:
        return "query"
    annotation = getattr(body_field.field_info, "annotation", None)
    fields = getattr(annotation, "model_fields", {})
    return "body" if field in fields else "query"
