"""The registry: the one way a table becomes a resource with a service, REST routes and an
admin view. The built-in users and posts are registered the same way as a host's tables.

Misconfiguration is caught when a resource is registered, with an error that names the model and
the option (like Django's system checks).
"""

import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, NoInspectionAvailable, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from backoffice.services.actions import ResourceAction
from backoffice.services.resources import ResourceService
from backoffice.services.trash import DELETED_AT, DELETED_BY, has_trash
from backoffice.services.versions import VERSION

if TYPE_CHECKING:
    from backoffice.admin.resources import ResourceAdmin
    from backoffice.admin.views import ServiceModelView

logger = logging.getLogger("backoffice.registry")
SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|private_?key|hash)", re.I)


class ImproperlyConfigured(Exception):
    """A registration that cannot work; ``check_id`` identifies the check (backoffice.E00x)."""

    def __init__(self, check_id: str, message: str) -> None:
        super().__init__(f"{check_id}: {message}")
        self.check_id = check_id


@dataclass
class Resource:
    """A registered table and everything generated for it."""

    model: type[SQLModel]
    name: str
    """URL segment and permission prefix: ``/api/{name}/``."""
    label: str
    label_plural: str
    create_schema: type[SQLModel]
    update_schema: type[SQLModel]
    public_schema: type[SQLModel]
    service_class: type[ResourceService] | Any
    admin_class: "type[ResourceAdmin] | type[ServiceModelView] | None"
    router: APIRouter | None = None
    """Custom routes; None means generated ones (when ``api`` is on)."""
    api: bool = True
    admin: bool = True
    permissions: bool = True
    """Its own view/add/change/delete permissions; without them, any active staff user may
    do everything to it (and its service's ``has_permission`` decides beyond that)."""
    audit: bool = True
    """Every create, change and delete is written to the audit log."""
    versioned: bool = True
    """Its rows carry a version (``services.versions``): a save over a newer one is refused."""
    extra: dict[str, Any] = field(default_factory=dict)
    registry: "Registry | None" = field(default=None, repr=False, compare=False)
    """The registry holding it: a service finds its related resources' services there."""

    def service(self, session: Any, caller: Any) -> Any:
        """Its service for this caller (its subclass, or the built-in factory)."""
        factory = self.extra.get("factory")
        if factory is not None:
            return factory(session, caller)
        return self.service_class(session, caller, self)

    @property
    def actions(self) -> dict[str, ResourceAction]:
        """Its service's custom actions (``@resource_action``), picked up from the class."""
        service = self.service_class
        if isinstance(service, type) and issubclass(service, ResourceService):
            return service.actions()
        return {}

    @property
    def trash(self) -> bool:
        """Does a delete move its rows to the trash (``services.trash``)?"""
        return has_trash(self.model)

    def related(self, table: Any) -> "Resource | None":
        """The registered resource whose table is ``table``, if any."""
        if self.registry is None:
            return None
        return next(
            (r for r in self.registry if getattr(r.model, "__table__", None) is table), None
        )


class Registry:
    def __init__(self) -> None:
        self._resources: dict[str, Resource] = {}

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._resources.values())

    def __contains__(self, name: object) -> bool:
        return name in self._resources

    def get(self, name: str) -> Resource:
        return self._resources[name]

    def for_model(self, model: type[SQLModel]) -> Resource | None:
        return next((r for r in self if r.model is model), None)

    def add(self, resource: Resource) -> Resource:
        model_name = resource.model.__name__
        if resource.name in self._resources:
            raise ImproperlyConfigured(
                "backoffice.E001",
                f"{model_name}: a resource named {resource.name!r} is already registered "
                f"(for {self._resources[resource.name].model.__name__}); pass name=… to tell "
                "them apart",
            )
        if self.for_model(resource.model) is not None:
            raise ImproperlyConfigured(
                "backoffice.E002", f"{model_name} is registered twice; register a model once"
            )
        check_resource(resource)
        resource.registry = self
        self._resources[resource.name] = resource
        return resource


async def check_version_columns(engine: AsyncEngine, registry: Registry) -> None:
    """At start-up: a versioned resource's table must have its ``version`` column in the
    database (``backoffice.E012``), a resource with a trash its trash columns (``E016``), else
    every save (or delete) would fail. A database that cannot be
    reached now is left to the readiness check."""
    resources = [r for r in registry if r.versioned or r.trash]

    def lacking(connection: Connection) -> tuple[list[str], list[str]]:
        inspector = sa_inspect(connection)
        unversioned, untrashed = [], []
        for resource in resources:
            table = str(resource.model.__table__.name)  # type: ignore[attr-defined]
            if not inspector.has_table(table):
                continue  # not migrated at all: the first query says so
            columns = {c["name"] for c in inspector.get_columns(table)}
            named = f"{resource.model.__name__} (table {table!r})"
            if resource.versioned and VERSION not in columns:
                unversioned.append(named)
            if resource.trash and not {DELETED_AT, DELETED_BY} <= columns:
                untrashed.append(named)
        return unversioned, untrashed

    if not resources:
        return
    # A connection of its own, closed at once: the application's pool may hold connections
    # opened on another event loop (a test's), unusable on the one starting the server.
    checker = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with checker.connect() as connection:
            missing, untrashed = await connection.run_sync(lacking)
    except (OperationalError, InterfaceError, OSError):
        logger.warning("version columns not checked: the database cannot be reached")
        return
    finally:
        await checker.dispose()
    if missing:
        raise ImproperlyConfigured(
            "backoffice.E012",
            f"{', '.join(missing)}: no {VERSION!r} column in the database, but the resource is "
            "versioned. Add it with a migration (`backoffice makemigrations` writes it, then "
            "`backoffice migrate`), or opt out: `__backoffice_versioned__ = False` on the model "
            "(or register(..., versioned=False)).",
        )
    if untrashed:
        raise ImproperlyConfigured(
            "backoffice.E016",
            f"{', '.join(untrashed)}: no {DELETED_AT!r}/{DELETED_BY!r} columns in the "
            "database, but the model has a trash (__backoffice_trash__ = True). Add them with "
            "a migration (`backoffice makemigrations` writes them, then `backoffice migrate`).",
        )


def find_schema(model: type[SQLModel], suffix: str, given: type[SQLModel] | None) -> type[SQLModel]:
    """``given``, else ``{Model}{suffix}`` from the model's module (the SQLModel convention)."""
    if given is not None:
        return given
    module = sys.modules.get(model.__module__)
    candidate = getattr(module, f"{model.__name__}{suffix}", None)
    if isinstance(candidate, type) and issubclass(candidate, SQLModel):
        return candidate
    raise ImproperlyConfigured(
        "backoffice.E003",
        f"{model.__name__}: no {suffix} variant; define {model.__name__}{suffix} next to the "
        f"model or pass {suffix.lower()}_schema=…",
    )


def check_resource(resource: Resource) -> None:
    model, model_name = resource.model, resource.model.__name__
    try:
        mapper = sa_inspect(model)
    except NoInspectionAvailable:
        raise ImproperlyConfigured(
            "backoffice.E004", f"{model_name} is not a table: declare it with table=True"
        ) from None
    keys = mapper.primary_key
    if len(keys) != 1:
        raise ImproperlyConfigured(
            "backoffice.E005",
            f"{model_name}: a resource needs exactly one primary-key column, found {len(keys)}",
        )
    columns = set(mapper.columns.keys())
    service = resource.service_class
    for option in ("search_fields", "filter_fields", "sort_fields"):
        for name in getattr(service, option, ()):
            if name not in columns:
                raise ImproperlyConfigured(
                    "backoffice.E006",
                    f"{model_name}: {service.__name__}.{option} names {name!r}, which is not a "
                    f"column of {model_name} (columns: {', '.join(sorted(columns))})",
                )
    default_sort = getattr(service, "default_sort", "").lstrip("-+")
    if default_sort and default_sort not in getattr(service, "sort_fields", (default_sort,)):
        raise ImproperlyConfigured(
            "backoffice.E007",
            f"{model_name}: {service.__name__}.default_sort {default_sort!r} is not in "
            "sort_fields; list it there, or set default_sort (it is 'id' unless set) to one of "
            "them",
        )
    for name in resource.actions:
        if hasattr(ResourceService, name) or name == "delete_selected":
            raise ImproperlyConfigured(
                "backoffice.E011",
                f"{model_name}: {service.__name__}.{name} is declared an action but its name "
                "is taken (a ResourceService method or a built-in bulk action); rename it",
            )
    exposed = [n for n in resource.public_schema.model_fields if SECRET_NAME.search(n)]
    if exposed:
        raise ImproperlyConfigured(
            "backoffice.E008",
            f"{model_name}: the public variant {resource.public_schema.__name__} exposes "
            f"{', '.join(exposed)}, named like a secret; leave it out of the public variant",
        )
    from backoffice.admin.resources import ResourceAdmin

    admin_class = resource.admin_class
    if isinstance(admin_class, type) and issubclass(admin_class, ResourceAdmin):
        admin_class.check(resource)
