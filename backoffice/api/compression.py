"""Gzip for the clients that ask for it, nothing at all for the others."""

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CompressionMiddleware:
    """Compresses responses of at least ``minimum_size`` bytes for clients that accept gzip
    (Starlette's ``GZipMiddleware``, which also marks them ``Vary: Accept-Encoding``), and
    passes every other request straight through.

    Starlette's middleware also wraps the others' responses, to mark large uncompressed ones
    ``Vary`` too: that costs each small request (a health check, a lookup) about as much as
    the rest of the middleware together, for a header whose absence can at worst make a shared
    cache hand an uncompressed copy to a client that would have taken gzip.
    """

    def __init__(self, app: ASGIApp, *, minimum_size: int = 1000) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _accepts_gzip(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False
