"""Admin views generated for registered resources, from options given as class attributes (the
way Django's ``ModelAdmin`` and SQLAdmin's ``ModelView`` do it). Writes go through the resource's
service, so the admin obeys the same rules as the API."""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import inspect as sa_inspect
from starlette.requests import Request

from backoffice.admin.filters import service_filters
from backoffice.admin.inlines import (
    Formset,
    InlineAdmin,
    find_fk,
    save_formsets,
    stored_formset,
    submitted_formset,
)
from backoffice.admin.list_editing import ListEditableView
from backoffice.admin.object_actions import ObjectActionView
from backoffice.admin.views import ServiceModelView
from backoffice.services import Caller

if TYPE_CHECKING:
    from backoffice.office import BackOffice
    from backoffice.registry import Resource


logger = logging.getLogger("backoffice.admin")


class ResourceAdmin:
    """Options for the admin view of a registered resource. Each is optional."""

    column_list: ClassVar[Sequence[str]] = ()
    """Columns of the list page. Default: the fields of the public variant."""

    column_details_list: ClassVar[Sequence[str]] = ()
    """Fields of the details page. Default: the fields of the public variant."""

    form_columns: ClassVar[Sequence[str]] = ()
    """Fields of the create and edit forms. Default: the fields of the create variant (a
    foreign key appears as its relationship's select box)."""

    readonly_columns: ClassVar[Sequence[str]] = ()
    """Form fields shown but not editable."""

    column_labels: ClassVar[dict[str, str]] = {}
    """Human labels per field."""

    column_export_list: ClassVar[Sequence[str]] = ()
    """Columns of the CSV and JSON export. Default: the fields of the public variant. A
    secret-looking name (password, token, hash, ...) is never exported, even if listed."""

    can_export: ClassVar[bool] = True
    """Offer the list's rows (search, filters and sort applied) as streamed CSV and JSON."""

    fieldsets: ClassVar[Sequence[tuple[str, Sequence[str]]]] = ()
    """The form's fields under headings: ``[("Invoice", ["number", "customer"]), ...]``
    (Django's ``fieldsets``). A form field in no group comes after them."""

    inlines: ClassVar[Sequence[type[InlineAdmin]]] = ()
    """Child rows edited on this resource's create and edit pages (``admin.inlines``): each an
    ``InlineAdmin`` naming a registered resource with a foreign key to this one. Added,
    changed and deleted children are saved with the parent in one unit of work, each through
    its own service; one refused child refuses the whole save, its reason beside it."""

    list_editable: ClassVar[Sequence[str]] = ()
    """Columns of the list page edited in place (Django's ``list_editable``); each must be in
    the list's columns, and not a relationship. "Save changes" updates every changed row
    through the service in one unit of work: all or nothing (a refused row's reason is shown
    in place, and no row is written)."""

    icon: ClassVar[str] = "fa-solid fa-table"
    page_size: ClassVar[int] = 25

    @classmethod
    def check(cls, resource: "Resource") -> None:
        from backoffice.registry import ImproperlyConfigured

        mapper = sa_inspect(resource.model)
        known = set(mapper.columns.keys()) | set(mapper.relationships.keys())
        for option in (
            "column_list",
            "column_details_list",
            "column_export_list",
            "form_columns",
            "readonly_columns",
        ):
            for name in getattr(cls, option):
                if name not in known:
                    raise ImproperlyConfigured(
                        "backoffice.E010",
                        f"{resource.model.__name__}: {cls.__name__}.{option} names {name!r}, "
                        f"which is neither a column nor a relationship of "
                        f"{resource.model.__name__}",
                    )

        cls._check_editing(resource)
        cls._warn_bare_foreign_keys(resource)

    @classmethod
    def _warn_bare_foreign_keys(cls, resource: "Resource") -> None:
        """A foreign key with no ``Relationship()`` over it has no field on the admin's form
        (SQLAdmin picks a related row through the relationship) and shows a bare id: say so at
        start-up rather than on the first save that needs it."""
        mapper = sa_inspect(resource.model)
        related = {c.key for rel in mapper.relationships for c in rel.local_columns}
        for column in mapper.columns:
            if column.foreign_keys and column.key not in related and not column.primary_key:
                target = next(iter(column.foreign_keys)).column.table.name
                logger.warning(
                    "backoffice.W001: %s.%s is a foreign key to %s with no Relationship() over "
                    "it, so the admin cannot show or pick the related row; declare one beside "
                    "it (e.g. `%s: Target | None = Relationship()`)",
                    resource.model.__name__,
                    column.key,
                    target,
                    column.key.removesuffix("_id"),
                )

    @classmethod
    def _check_editing(cls, resource: "Resource") -> None:
        from backoffice.registry import ImproperlyConfigured

        model = resource.model.__name__
        mapper = sa_inspect(resource.model)
        known = set(mapper.columns.keys()) | set(mapper.relationships.keys())
        for title, names in cls.fieldsets:
            for name in names:
                if name not in known:
                    raise ImproperlyConfigured(
                        "backoffice.E010",
                        f"{model}: {cls.__name__}.fieldsets ({title!r}) names {name!r}, which "
                        f"is neither a column nor a relationship of {model}",
                    )
        listed = list(cls.column_list) or [n for n in resource.public_schema.model_fields]
        for name in cls.list_editable:
            if name not in listed or name not in mapper.columns or mapper.columns[name].primary_key:
                raise ImproperlyConfigured(
                    "backoffice.E012",
                    f"{model}: {cls.__name__}.list_editable names {name!r}, which is not a "
                    "column of the list (column_list) that can be edited",
                )
        for inline in cls.inlines:
            if not find_fk(inline, resource.model):
                raise ImproperlyConfigured(
                    "backoffice.E013",
                    f"{model}: {cls.__name__}.inlines names {inline.__name__}, whose model has "
                    f"no foreign key to {model}"
                    + (f" named {inline.fk_name!r}" if inline.fk_name else ""),
                )
            if len(find_fk(inline, resource.model)) > 1:
                raise ImproperlyConfigured(
                    "backoffice.E014",
                    f"{model}: {inline.__name__} has several foreign keys to {model}; set fk_name",
                )

    @classmethod
    def build_view(cls, resource: "Resource", office: "BackOffice") -> type[ServiceModelView]:
        """A SQLAdmin view class for ``resource`` (one per office)."""
        from backoffice.registry import ImproperlyConfigured

        model = resource.model
        for inline in cls.inlines:
            if office.registry.for_model(inline.model) is None:
                raise ImproperlyConfigured(
                    "backoffice.E015",
                    f"{model.__name__}: {cls.__name__}.inlines names {inline.__name__}, whose "
                    f"model {inline.model.__name__} is not registered: register it (its "
                    "service saves the rows)",
                )
        mapper = sa_inspect(model)
        service = resource.service_class
        public = [n for n in resource.public_schema.model_fields if n in mapper.columns]
        form = list(cls.form_columns) or _form_fields(resource)
        shown = [_by_fk(mapper).get(n, n) for n in public]  # a foreign key: its related row
        attrs: dict[str, Any] = {
            "office": office,
            "resource_name": resource.name,
            "service_actions": resource.actions,
            "permission_resource": resource.name if resource.permissions else "",
            "audit_type": resource.name,
            "name": resource.label,
            "name_plural": resource.label_plural,
            "icon": cls.icon,
            "page_size": cls.page_size,
            "column_list": [getattr(model, n) for n in (cls.column_list or shown)],
            "column_details_list": [getattr(model, n) for n in (cls.column_details_list or shown)],
            "column_export_list": [getattr(model, n) for n in (cls.column_export_list or public)],
            "can_export": cls.can_export,
            "column_searchable_list": [
                getattr(model, n) for n in getattr(service, "search_fields", ())
            ],
            "column_sortable_list": [
                getattr(model, n) for n in getattr(service, "sort_fields", ())
            ],
            "column_filters": [
                f
                for n in getattr(service, "filter_fields", ())
                for f in service_filters(office, model, n)
            ],
            "column_labels": {getattr(model, k): v for k, v in cls.column_labels.items()},
            "form_columns": [getattr(model, n) for n in form],
            "form_widget_args": {n: {"readonly": True} for n in cls.readonly_columns},
            "fieldsets": tuple(cls.fieldsets),
            "inline_classes": tuple(cls.inlines),
            "list_editable": tuple(cls.list_editable),
        }
        return type(f"{model.__name__}Admin", (GeneratedAdmin,), attrs, model=model)


class GeneratedAdmin(ListEditableView, ObjectActionView):
    """The view every registered resource gets; every write through its service ("Delete
    selected" and the service's custom actions included)."""

    def _service(self, request: Request, session: Any) -> Any:
        return self.office.service(self.resource_name, session, self.caller(request))

    inline_classes: ClassVar[tuple[type[InlineAdmin], ...]] = ()

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        values = self._values(data)

        async def create(session: Any, caller: Caller) -> Any:
            obj = await self._service(request, session).create(values)
            await self._save_inlines(request, session, caller, obj)
            return obj

        return await self.run(request, create)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        values = self._values(data)
        version = await self.form_version(request)

        async def update(session: Any, caller: Caller) -> Any:
            obj = await self._service(request, session).update(int(pk), values, version=version)
            await self._save_inlines(request, session, caller, obj)
            return obj

        return await self.run(request, update)

    # -- inline child rows (admin.inlines) ------------------------------------------------------

    async def create_context(self, request: Request) -> dict[str, Any]:
        context: dict[str, Any] = await super().create_context(request)
        context["formsets"] = await self._formsets(request, None)
        return context

    async def edit_context(self, request: Request) -> dict[str, Any]:
        context: dict[str, Any] = await super().edit_context(request)
        edited = getattr(request.state, "backoffice_edited", None)
        context["formsets"] = await self._formsets(request, edited)
        return context

    async def _formsets(self, request: Request, parent: Any) -> list[Formset]:
        """The page's inline sections: as submitted on a POST (shown again with their
        reasons if refused), else as stored; kept on the request for the save."""
        formsets: list[Formset] = []
        if request.method == "POST":
            form = await request.form()
            for inline in self.inline_classes:
                formsets.append(submitted_formset(self.office, inline, self.model, form))
        else:
            pk = None if parent is None else sa_inspect(parent).identity[0]
            for inline in self.inline_classes:
                formsets.append(
                    await stored_formset(self.office, inline, self.model, pk, self.caller(request))
                )
        request.state.backoffice_formsets = formsets
        return formsets

    async def _save_inlines(self, request: Request, session: Any, caller: Caller, obj: Any) -> None:
        formsets = getattr(request.state, "backoffice_formsets", [])
        if formsets:
            await save_formsets(session, caller, formsets, sa_inspect(obj).identity[0])

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.run(request, lambda s, c: self._service(request, s).delete(int(pk)))

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        """Form data as the service's schemas expect it: a related object becomes its key,
        blank text becomes null, readonly and CSRF fields are dropped."""
        mapper: Any = sa_inspect(self.model)
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in mapper.relationships:
                local = next(iter(mapper.relationships[name].local_columns))
                values[local.key] = _primary_key(value)
            elif name in mapper.columns and name not in self.form_widget_args:
                values[name] = None if isinstance(value, str) and not value.strip() else value
        return values


def _primary_key(value: Any) -> Any:
    """SQLAdmin's select gives the related row's key (as text), or the row itself."""
    if value is None or isinstance(value, str | int):
        return value or None
    identity = sa_inspect(value).identity
    return identity[0] if identity else None


def _form_fields(resource: "Resource") -> list[str]:
    """The create variant's fields; a foreign-key field is shown as its relationship."""
    mapper = sa_inspect(resource.model)
    by_fk = _by_fk(mapper)
    fields = []
    for name in resource.create_schema.model_fields:
        if name in by_fk:
            fields.append(by_fk[name])
        elif name in mapper.columns:
            fields.append(name)
    return fields


def _by_fk(mapper: Any) -> dict[str, str]:
    """Foreign-key column -> the many-to-one relationship over it (shown by its label)."""
    return {
        next(iter(rel.local_columns)).key: rel.key
        for rel in mapper.relationships
        if rel.direction.name == "MANYTOONE" and len(rel.local_columns) == 1
    }
