"""``/``, ``/health`` and ``/ready``: what load balancers and newcomers look at first."""

from typing import Any

import anyio
from fastapi import APIRouter, Request
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


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Does not touch the database."""
    return {"status": "ok"}


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
