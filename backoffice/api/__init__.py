"""The REST door: routers that translate HTTP to service calls and domain errors to problems."""

from fastapi import APIRouter

from backoffice.api import auth, posts, users


def build_api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(auth.router)
    router.include_router(users.router)
    router.include_router(posts.router)
    return router


__all__ = ["build_api_router"]
