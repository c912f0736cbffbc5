"""``/``, ``/health`` and ``/ready``: what load balancers and newcomers look at first."""

from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from backoffice import __version__
from backoffice.api.deps import OfficeDep

router = APIRouter(tags=["system"])
READY_TIMEOUT_SECONDS = 3


@router.get("/")
async def root(request: Request, office: OfficeDep) -> dict[str, Any]:
    prefix = office.settings.api_prefix
    return {
        "name": office.settings.project_name,
        "version": __version__,
        "docs": f"{prefix}/docs",
        "admin": office.settings.admin_path + "/",
    }


HEALTHY = b'{"status":"ok"}'


@router.get(
    "/health",
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def health() -> Response:
    """Liveness: the process answers. Does not touch the database. Probes call it often: the
    answer is built once and skips FastAPI's response validation."""
    return Response(HEALTHY, media_type="application/json")


@router.get("/ready", responses={503: {"description": "The database does not answer."}})
async def ready(office: OfficeDep) -> JSONResponse:
    """Readiness: the database answers a trivial query within a few seconds."""
    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            async with office.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        import logging

        logging.getLogger("backoffice").warning("readiness check failed: %r", exc)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "database": "ok"})
