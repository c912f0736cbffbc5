"""The REST door: routers that translate HTTP to service calls and domain errors to problems."""

from fastapi import APIRouter

from backoffice.api import api_keys, audit, auth, security, trash
from backoffice.api.resources import build_resource_router
from backoffice.registry import Registry


def build_api_router(registry: Registry) -> APIRouter:
    """``/auth`` and every registered resource's routes (its own, or generated ones).

    The routes are gathered into one flat router rather than included router by router: each
    level of ``include_router`` is walked again on every request to find the route, and the
    sub-routers carry nothing an include would add (their prefixes and tags are already in
    their routes' paths and tags)."""
    routers = [auth.router, security.router, audit.router, api_keys.router, trash.router]
    routers += [
        resource.router or build_resource_router(resource) for resource in registry if resource.api
    ]
    return APIRouter(routes=[route for router in routers for route in router.routes])


__all__ = ["build_api_router"]
