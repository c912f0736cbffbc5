"""The API's documentation pages (Swagger UI and ReDoc) with every asset served by the app.

FastAPI's own pages load their scripts and styles from a CDN: without internet they are blank,
and a strict Content-Security-Policy would block them. Here the bundles come from the kept
``fastapi-offline`` package, the start-up code from our own ``static/docs/``, and each page
says, in its policy, that nothing may load from any other origin.
"""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, Route
from starlette.staticfiles import StaticFiles

from backoffice.resources import resource_dir

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; "
    # Swagger UI's icons are data: SVGs in its stylesheet; ReDoc's search runs in a blob:
    # worker and its styled components write <style> elements: none of them another origin.
    "img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; "
    "font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}


def serve_docs_offline(app: FastAPI, *, assets_path: str) -> None:
    """Replace ``app``'s ``docs_url`` and ``redoc_url`` pages (whichever it has) by offline
    ones, their files under ``assets_path``. For the standalone app and a host app alike."""
    title = app.title
    pages: dict[str, HTMLResponse] = {}
    if app.openapi_url and app.docs_url:
        pages[app.docs_url] = _swagger_page(app, title, assets_path)
    if app.openapi_url and app.redoc_url:
        pages[app.redoc_url] = _redoc_page(app, title, assets_path)
    if not pages:
        return
    kept: list[BaseRoute] = [
        r for r in app.router.routes if not (isinstance(r, Route) and r.path in pages)
    ]
    app.router.routes[:] = kept
    for path, page in pages.items():
        app.router.routes.append(
            Route(path, _serving(page), methods=["GET", "HEAD"], include_in_schema=False)
        )
    assets = StaticFiles(
        directory=resource_dir("static") / "docs", packages=[("fastapi_offline", "static")]
    )
    app.mount(assets_path, assets, name="backoffice_docs_assets")


def _serving(page: HTMLResponse):  # type: ignore[no-untyped-def]
    async def endpoint(_request: object) -> HTMLResponse:
        return HTMLResponse(page.body, headers=HEADERS)

    return endpoint


def _swagger_page(app: FastAPI, title: str, assets: str) -> HTMLResponse:
    redirect = app.swagger_ui_oauth2_redirect_url or ""
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_escape(title)} - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js" data-openapi-url="{_escape(app.openapi_url or "")}"
  data-oauth2-redirect-url="{_escape(redirect)}"></script>
</body>
</html>
"""
    return HTMLResponse(html)


def _redoc_page(app: FastAPI, title: str, assets: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_escape(title)} - ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/redoc.css">
</head>
<body>
<div id="redoc-container"></div>
<script src="{assets}/redoc.standalone.js"></script>
<script src="{assets}/redoc-init.js" data-openapi-url="{_escape(app.openapi_url or "")}">
</script>
</body>
</html>
"""
    return HTMLResponse(html)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
