"""Query strings the admin cannot use, refused before any page reads them.

A NUL character (``%00``) in a search or filter value reaches PostgreSQL, which cannot compare
text holding one and fails (a 500, or a CSV export cut off mid-stream). No admin page has a use
for it, so any query string carrying one answers 400.
"""

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class QueryGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if b"\x00" in query or b"%00" in query:
                response = PlainTextResponse(
                    "The address holds a NUL character (%00), which no search or filter can "
                    "use. Remove it and try again.",
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
