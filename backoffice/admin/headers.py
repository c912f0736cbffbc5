"""Response headers every admin page gets: no framing, no sniffing, no caching of pages, and
redirects that never point at the host a request merely claimed."""

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeadersMiddleware:
    """``base_url``: the site's public address (``BASE_URL``). SQLAdmin builds its redirects
    (``request.url_for``) from the request's Host header, so a forged Host would send the
    browser to another site. A ``Location`` on any origin but ``base_url``'s is made relative
    (path and query): the browser resolves it against the address it actually asked, which
    also keeps a development server on another port working."""

    def __init__(self, app: ASGIApp, *, hsts: bool, base_url: str) -> None:
        self.app = app
        self.hsts = hsts
        parts = urlsplit(base_url)
        self.origin = (parts.scheme.lower(), parts.netloc.lower())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = "/statics/" in scope["path"] or "/_backoffice/" in scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
                if not is_static:
                    headers["Cache-Control"] = "no-store"
                if self.hsts and scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                location = headers.get("location")
                if location is not None:
                    headers["Location"] = self.own_location(location)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def own_location(self, location: str) -> str:
        """``location`` if relative or on ``base_url``'s origin, else its path and query."""
        parts = urlsplit(location)
        if not parts.netloc and not parts.scheme:
            return location
        if (parts.scheme.lower(), parts.netloc.lower()) == self.origin:
            return location
        path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
        # "//x" as a path would again name a host: collapse the leading slashes.
        path = "/" + path.lstrip("/")
        return urlunsplit(("", "", path, parts.query, parts.fragment))
