"""Gzip for the clients that ask for it, nothing at all for the others, and never the admin's
pages."""

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CompressionMiddleware:
    """Compresses responses of at least ``minimum_size`` bytes for clients that accept gzip
    (Starlette's ``GZipMiddleware``, which also marks them ``Vary: Accept-Encoding``), and
    passes every other request straight through.

    Nothing under ``never_under`` (the admin's path) is compressed but its static files
    (``static_under``, relative to it): an admin page carries the CSRF token beside what the
    request put there (a search term), and compressing both lets an attacker who can watch
    response sizes guess the token (BREACH).

    Starlette's middleware also wraps the others' responses, to mark large uncompressed ones
    ``Vary`` too: that costs each small request (a health check, a lookup) about as much as
    the rest of the middleware together, for a header whose absence can at worst make a shared
    cache hand an uncompressed copy to a client that would have taken gzip.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 1000,
        never_under: str | None = None,
        static_under: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)
        self.never_under = never_under
        self.static = tuple(f"{never_under}{path.rstrip('/')}/" for path in static_under)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _accepts_gzip(scope) and not self._excluded(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _excluded(self, scope: Scope) -> bool:
        if self.never_under is None:
            return False
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path != self.never_under and not path.startswith(f"{self.never_under}/"):
            return False
        return not path.startswith(self.static)


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False
