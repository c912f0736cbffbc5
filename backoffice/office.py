"""``BackOffice``: the one object a host application deals with.

It owns the settings, the engine and the password hasher, builds the services every door uses,
and plugs the REST API and the admin into a FastAPI application.
"""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from backoffice import __version__
from backoffice.config import Settings
from backoffice.db import (
    SessionMaker,
    autocommit_engine,
    create_engine,
    create_session_maker,
    session_scope,
)
from backoffice.errors import NotFound
from backoffice.models import Group, Post, User, UserUpdate
from backoffice.registry import (
    ImproperlyConfigured,
    Registry,
    Resource,
    check_version_columns,
    find_schema,
)
from backoffice.security import HashParameters, PasswordHasher
from backoffice.security.api_keys import derive_hash_key
from backoffice.services import Caller, PostService, UserService
from backoffice.services.api_keys import ApiKeyPolicy, ApiKeyService
from backoffice.services.auth import AuthService
from backoffice.services.factors import SecondFactorService
from backoffice.services.groups import GroupService
from backoffice.services.mail import Mailer
from backoffice.services.permissions import PermissionService, catalogue
from backoffice.services.resources import ResourceService
from backoffice.services.reverting import RevertService
from backoffice.services.trash import Purged, TrashService, add_trash_columns
from backoffice.services.versions import add_version_column, is_versioned

if TYPE_CHECKING:
    from backoffice.admin.resources import ResourceAdmin
    from backoffice.admin.views import ServiceModelView

logger = logging.getLogger("backoffice")


class BackOffice:
    """``BackOffice(settings)`` or ``BackOffice(database_url=..., secret_key=...)``."""

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        if settings is not None and options:
            raise TypeError("pass either a Settings object or keyword options, not both")
        self.settings = settings if settings is not None else Settings(**options)
        self.engine = create_engine(
            self.settings.database_url,
            pool_size=self.settings.database_pool_size,
            max_overflow=self.settings.database_max_overflow,
            ping_after_idle=self.settings.database_ping_after_idle_seconds,
        )
        self.session_maker: SessionMaker = create_session_maker(self.engine)
        # For the API's reads (GET, HEAD): no transaction round trips (see db.py).
        self.read_engine = autocommit_engine(self.engine)
        self.read_session_maker: SessionMaker = create_session_maker(self.read_engine)
        s = self.settings
        self.hasher = PasswordHasher(
            HashParameters(
                argon2_time_cost=s.argon2_time_cost,
                argon2_memory_cost=s.argon2_memory_cost,
                argon2_parallelism=s.argon2_parallelism,
                bcrypt_rounds=s.bcrypt_rounds,
                max_concurrent=s.max_concurrent_hashes,
                max_concurrent_new=s.max_concurrent_new_password_hashes,
            )
        )
        self.mailer = Mailer(self.settings)
        self.registry = Registry()
        self._mounted = False
        self._register_builtins()

    # -- services: the only way any door reaches the rules ------------------------------------

    def auth(self, session: AsyncSession, caller: Caller) -> AuthService:
        return AuthService(session, caller, self.hasher, self.settings, self.mailer)

    def factors(self, session: AsyncSession, caller: Caller) -> SecondFactorService:
        """The second factors of the caller's account (and, for a superuser, removal)."""
        return SecondFactorService(session, caller, self.settings)

    def users(self, session: AsyncSession, caller: Caller) -> UserService:
        return UserService(session, caller, self.hasher, self.mailer)

    def posts(self, session: AsyncSession, caller: Caller) -> PostService:
        return PostService(session, caller)

    def permissions(self, session: AsyncSession, caller: Caller) -> PermissionService:
        """The permission catalogue and who holds what."""
        return PermissionService(session, caller, self._catalogue())

    def groups(self, session: AsyncSession, caller: Caller) -> GroupService:
        return GroupService(session, caller, self._catalogue())

    def reverts(self, session: AsyncSession, caller: Caller) -> RevertService:
        """Reverting audit entries and units of work (``services.reverting``)."""
        return RevertService(session, caller, self.registry)

    def trash(self, name: str, session: AsyncSession, caller: Caller) -> TrashService:
        """The trash of the registered resource ``name`` (``NotFound`` if it has none)."""
        if name not in self.registry:
            raise NotFound(f"There is no resource {name!r}.")
        return TrashService(session, caller, self.registry.get(name))

    async def purge_trash(self, caller: Caller, days: int | None = None) -> dict[str, Purged]:
        """Purge, in every trash, the rows deleted more than ``days`` ago (default
        ``BACKOFFICE_TRASH_DAYS``): how many per resource, and why any row was kept. One unit
        of work per resource."""
        purged: dict[str, Purged] = {}
        for resource in self.registry:
            if not resource.trash:
                continue
            async with self.session() as session:
                trash = TrashService(session, caller, resource)
                purged[resource.name] = await trash.purge_older_than(
                    days or self.settings.trash_days
                )
        return purged

    def api_keys(self, session: AsyncSession, caller: Caller) -> ApiKeyService:
        """Creating, listing and revoking API keys (checking one is ``AuthService``'s)."""
        policy = ApiKeyPolicy(
            hash_key=derive_hash_key(self.settings.get_secret_key()),
            max_lifetime=timedelta(days=self.settings.api_key_max_lifetime_days),
            codes=frozenset(f"{r}.{a}" for r, a, _ in self._catalogue()),
        )
        return ApiKeyService(session, caller, policy)

    def _catalogue(self) -> list[tuple[str, str, str]]:
        return catalogue((r.name, r.label_plural) for r in self.registry if r.permissions)

    def service(self, name: str, session: AsyncSession, caller: Caller) -> Any:
        """The service of the registered resource ``name`` (its subclass, if one was given)."""
        return self.registry.get(name).service(session, caller)

    # -- the registry: one way in, for the built-in resources and a host's tables -------------

    def register(
        self,
        model: type[SQLModel] | None = None,
        *,
        name: str | None = None,
        service: type[ResourceService] | None = None,
        admin: "type[ResourceAdmin] | type[ServiceModelView] | bool" = True,
        api: APIRouter | bool = True,
        permissions: bool = True,
        audit: bool = True,
        versioned: bool | None = None,
        label: str | None = None,
        label_plural: str | None = None,
        create_schema: type[SQLModel] | None = None,
        update_schema: type[SQLModel] | None = None,
        public_schema: type[SQLModel] | None = None,
    ) -> Any:
        """Make ``model`` (a ``table=True`` SQLModel) a resource: a service, REST routes under
        ``/api/{name}/`` and an admin view, all obeying the same rules.

        - ``name``: URL segment; default: the table name plus "s".
        - ``service``: a ``ResourceService`` subclass holding the resource's rules and list
          options (``search_fields``, ``filter_fields``, ``sort_fields``).
        - ``admin``: a ``ResourceAdmin`` subclass of options, a ready SQLAdmin view class
          (a ``ServiceModelView`` subclass), or False for no admin view.
        - ``api``: True for generated routes, an ``APIRouter`` for your own, False for none.
        - ``permissions``: give it ``{name}.view/add/change/delete`` permissions (default);
          False lets any active staff user do everything to it.
        - ``audit``: write every create, change and delete to the audit log (default).
        - ``versioned``: give its rows a ``version`` column, so a save over a newer one is
          refused (default: yes, unless the model says ``__backoffice_versioned__ = False``);
          your migrations add the column (``makemigrations`` writes it).
        - A model with ``__backoffice_trash__ = True`` gets a trash: a delete moves the row
          there (``services.trash``); ``makemigrations`` writes its two columns.
        - ``create_schema``/``update_schema``/``public_schema``: default ``{Model}Create``,
          ``{Model}Update``, ``{Model}Public`` from the model's module.

        Called without a model it returns a class decorator. Register before ``mount``.
        """
        if model is None:

            def decorator(cls: type[SQLModel]) -> type[SQLModel]:
                self.register(
                    cls,
                    name=name,
                    service=service,
                    admin=admin,
                    api=api,
                    permissions=permissions,
                    audit=audit,
                    versioned=versioned,
                    label=label,
                    label_plural=label_plural,
                    create_schema=create_schema,
                    update_schema=update_schema,
                    public_schema=public_schema,
                )
                return cls

            return decorator
        if self._mounted:
            raise ImproperlyConfigured(
                "backoffice.E009",
                f"{model.__name__}: registered after mount(); register every model first",
            )
        from backoffice.admin.resources import ResourceAdmin

        if versioned is not False:
            add_version_column(model)
        add_trash_columns(model)
        table = getattr(model, "__tablename__", model.__name__.lower())
        word = label or model.__name__
        admin_class = None if admin is False else (ResourceAdmin if admin is True else admin)
        resource = Resource(
            model=model,
            name=name or f"{table}s",
            label=word,
            label_plural=label_plural or f"{word}s",
            create_schema=find_schema(model, "Create", create_schema),
            update_schema=find_schema(model, "Update", update_schema),
            public_schema=find_schema(model, "Public", public_schema),
            service_class=service or ResourceService,
            admin_class=admin_class,
            router=api if isinstance(api, APIRouter) else None,
            api=api is not False,
            admin=admin is not False,
            permissions=permissions,
            audit=audit,
            versioned=versioned is not False and is_versioned(model),
        )
        return self.registry.add(resource)

    def _register_builtins(self) -> None:
        from backoffice.admin.groups import GroupAdmin
        from backoffice.admin.posts import PostAdmin
        from backoffice.admin.users import UserAdmin
        from backoffice.api import groups, posts, users

        builtins: list[tuple[Resource, Any]] = [
            (
                self.register(
                    User,
                    name="users",
                    service=UserService,  # type: ignore[arg-type]
                    admin=UserAdmin,
                    api=users.router,
                    update_schema=UserUpdate,
                ),
                self.users,
            )
        ]
        if self.settings.posts:
            builtins.append(
                (
                    self.register(
                        Post,
                        name="posts",
                        service=PostService,  # type: ignore[arg-type]
                        admin=PostAdmin,
                        api=posts.router,
                    ),
                    self.posts,
                )
            )
        builtins.append(
            (
                self.register(
                    Group,
                    name="groups",
                    service=GroupService,  # type: ignore[arg-type]
                    admin=GroupAdmin,
                    api=groups.router,
                ),
                self.groups,
            )
        )
        for resource, factory in builtins:
            # The built-in services predate the generic one and take their own arguments.
            resource.extra["factory"] = factory

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
        if self.settings.gc_freeze_after_startup:
            _freeze_after_startup(app)
        return app

    def mount(self, app: FastAPI, *, _standalone: bool = False) -> None:
        """Add the API under ``settings.api_prefix`` and the admin under ``settings.admin_path``
        to an existing application, leaving its own routes and error handling alone."""
        from backoffice.admin import setup_admin
        from backoffice.api import build_api_router
        from backoffice.api.compression import CompressionMiddleware
        from backoffice.api.deps import oauth2_scheme
        from backoffice.api.docs import serve_docs_offline
        from backoffice.api.problems import (
            BodyLimitMiddleware,
            RequestIdMiddleware,
            UnexpectedErrorMiddleware,
            install_problem_handlers,
        )

        prefix = self.settings.api_prefix
        app.state.backoffice = self
        # Swagger UI's Authorize button posts to this address.
        oauth2_scheme.model.flows.password.tokenUrl = f"{prefix}/auth/login"  # type: ignore[attr-defined]
        self._mounted = True
        app.include_router(build_api_router(self.registry), prefix=prefix)
        install_problem_handlers(app, only_under=None if _standalone else prefix)
        # Swagger UI and ReDoc from the app itself, the host's own docs pages too (docs.py).
        serve_docs_offline(app, assets_path=f"{prefix}/docs-assets")
        setup_admin(self, app)
        if self.settings.allowed_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.allowed_origins,
                allow_credentials=False,
                allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            )
        app.add_middleware(
            CompressionMiddleware,
            minimum_size=1000,
            never_under=self.settings.admin_path,  # BREACH: see compression.py
            static_under=("/statics", "/_backoffice"),
        )
        app.add_middleware(
            BodyLimitMiddleware, prefix=prefix, max_bytes=self.settings.max_request_body_bytes
        )
        if not _standalone:
            # (A standalone app has an Exception handler for every path instead.)
            app.add_middleware(UnexpectedErrorMiddleware, prefix=prefix)
        app.add_middleware(RequestIdMiddleware)
        if self.settings.trusted_proxies:
            # Outermost, so every layer (the admin's links, the throttles) sees the client and
            # scheme the proxy names. uvicorn's own middleware, under any server (gunicorn,
            # granian): ``backoffice serve`` turns the server's copy off so this is the switch.
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

            app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=self.settings.trusted_proxies)
        self._chain_lifespan(app)

    def _chain_lifespan(self, app: FastAPI) -> None:
        host_lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[Any]:
            await check_version_columns(self.engine, self.registry)
            async with host_lifespan(application) as state:
                yield state
            await self.engine.dispose()

        app.router.lifespan_context = lifespan

    async def dispose(self) -> None:
        await self.engine.dispose()


def _freeze_after_startup(app: FastAPI) -> None:
    """Once the app has started, move everything start-up built (FastAPI's routes, SQLAlchemy's
    mappers, SQLAdmin's views: most of the heap, and none of it ever garbage) to the
    collector's permanent generation; give it back at shutdown."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with started(application) as state:
            gc.collect()  # what is garbage now is collected, not frozen
            gc.freeze()
            try:
                yield state
            finally:
                gc.unfreeze()

    app.router.lifespan_context = lifespan
