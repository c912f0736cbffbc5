"""``BackOffice``: the one object a host application deals with.

It owns the settings, the engine and the password hasher, builds the services every door uses,
and plugs the REST API and the admin into a FastAPI application.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice import __version__
from backoffice.config import Settings
from backoffice.db import SessionMaker, create_engine, create_session_maker, session_scope
from backoffice.security import HashParameters, PasswordHasher
from backoffice.services import Caller, PostService, UserService
from backoffice.services.auth import AuthService
from backoffice.services.mail import Mailer

logger = logging.getLogger("backoffice")


class BackOffice:
    """``BackOffice(settings)`` or ``BackOffice(database_url=..., secret_key=...)``."""

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        if settings is not None and options:
            raise TypeError("pass either a Settings object or keyword options, not both")
        self.settings = settings if settings is not None else Settings(**options)
        self.engine = create_engine(self.settings.database_url)
        self.session_maker: SessionMaker = create_session_maker(self.engine)
        s = self.settings
        self.hasher = PasswordHasher(
            HashParameters(
                argon2_time_cost=s.argon2_time_cost,
                argon2_memory_cost=s.argon2_memory_cost,
                argon2_parallelism=s.argon2_parallelism,
                bcrypt_rounds=s.bcrypt_rounds,
                max_concurrent=s.max_concurrent_hashes,
            )
        )
        self.mailer = Mailer(self.settings)

    # -- services: the only way any door reaches the rules ------------------------------------

    def auth(self, session: AsyncSession, caller: Caller) -> AuthService:
        return AuthService(session, caller, self.hasher, self.settings, self.mailer)

    def users(self, session: AsyncSession, caller: Caller) -> UserService:
        return UserService(session, caller, self.hasher)

    def posts(self, session: AsyncSession, caller: Caller) -> PostService:
        return PostService(session, caller)

    def session(self) -> Any:
        """``async with office.session() as s:`` one unit of work, committed at the end."""
        return session_scope(self.session_maker)

    # -- plugging into FastAPI ----------------------------------------------------------------

    def create_app(self) -> FastAPI:
        """A standalone application: the API, the admin, ``/``, ``/health`` and ``/ready``."""
        prefix = self.settings.api_prefix
        app = FastAPI(
            title=self.settings.project_name,
            version=__version__,
            docs_url=f"{prefix}/docs",
            redoc_url=f"{prefix}/redoc",
            openapi_url=f"{prefix}/openapi.json",
            swagger_ui_oauth2_redirect_url=f"{prefix}/docs/oauth2-redirect",
        )
        from backoffice.api import system

        app.include_router(system.router)
        self.mount(app, _standalone=True)
        return app

    def mount(self, app: FastAPI, *, _standalone: bool = False) -> None:
        """Add the API under ``settings.api_prefix`` and the admin under ``settings.admin_path``
        to an existing application, leaving its own routes and error handling alone."""
        from backoffice.admin import setup_admin
        from backoffice.api import build_api_router
        from backoffice.api.deps import oauth2_scheme
        from backoffice.api.problems import (
            BodyLimitMiddleware,
            RequestIdMiddleware,
            install_problem_handlers,
        )

        prefix = self.settings.api_prefix
        app.state.backoffice = self
        # Swagger UI's Authorize button posts to this address.
        oauth2_scheme.model.flows.password.tokenUrl = f"{prefix}/auth/login"  # type: ignore[attr-defined]
        app.include_router(build_api_router(), prefix=prefix)
        install_problem_handlers(app, only_under=None if _standalone else prefix)
        setup_admin(self, app)
        if self.settings.allowed_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.allowed_origins,
                allow_credentials=False,
                allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            )
        app.add_middleware(GZipMiddleware, minimum_size=1000)
        app.add_middleware(
            BodyLimitMiddleware, prefix=prefix, max_bytes=self.settings.max_request_body_bytes
        )
        app.add_middleware(RequestIdMiddleware)
        self._chain_lifespan(app)

    def _chain_lifespan(self, app: FastAPI) -> None:
        host_lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[Any]:
            async with host_lifespan(application) as state:
                yield state
            await self.engine.dispose()

        app.router.lifespan_context = lifespan

    async def dispose(self) -> None:
        await self.engine.dispose()
