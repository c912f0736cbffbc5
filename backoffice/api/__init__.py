"""The REST door: routers that translate HTTP to service calls and domain errors to problems."""

from fastapi import APIRouter

from backoffice.api import audit, auth
from backoffice.api.resources import build_resource_router
from backoffice.registry import Registry


def build_api_router(registry: Registry) -> APIRouter:
    """``/auth`` and every registered resource's routes (its own, or generated ones)."""
    router = APIRouter()
    router.include_router(auth.router)
    router.include_router(audit.router)
    for resource in registry:
        if resource.api:
            router.include_router(resource.router or build_resource_router(resource))
    return router


__all__ = ["build_api_router"]
