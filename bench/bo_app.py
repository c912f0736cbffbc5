"""The backoffice under test: ``BackOffice(Settings()).create_app()`` plus, for the bench only,
the 10 ms heartbeat, ``GET /bench/lag`` and ``POST /bench/verify``.

Settings come from the ``BACKOFFICE_*`` environment that ``run.py`` sets. Served by
``uvicorn --app-dir bench bo_app:create_app --factory``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from backoffice.config import Settings
from backoffice.office import BackOffice
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from heartbeat import Heartbeat


def create_app() -> FastAPI:
    """The product's standalone app, unchanged but for the heartbeat and its route."""
    app: FastAPI = BackOffice(Settings()).create_app()
    heartbeat = Heartbeat()
    product_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with heartbeat.running(), product_lifespan(application) as state:
            yield state

    async def lag(request: Request) -> JSONResponse:
        report = heartbeat.report()
        if request.query_params.get("reset"):
            heartbeat.reset()
        return JSONResponse(report)

    async def verify(request: Request) -> JSONResponse:
        """One password verification through the product's own hasher (its thread pool and
        limiter), nothing else: what a login is compared with."""
        form = await request.form()
        ok, _ = await office.hasher.verify(str(form["password"]), str(form["hashed"]))
        return JSONResponse({"ok": ok}, status_code=200 if ok else 400)

    office: BackOffice = app.state.backoffice
    app.router.lifespan_context = lifespan
    # Plain Starlette routes: the bench's own instruments should not add FastAPI work.
    app.router.add_route("/bench/lag", lag, methods=["GET"], include_in_schema=False)
    app.router.add_route("/bench/verify", verify, methods=["POST"], include_in_schema=False)
    return app
