"""The base of every backoffice admin view: writes go through the services, never around them."""

import builtins
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select
from sqlalchemy import inspect as sa_inspect
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from wtforms import Form, HiddenField

from backoffice.admin.csrf import FORM_FIELD, current_csrf_token
from backoffice.admin.formatting import TYPE_FORMATTERS, human_label
from backoffice.admin.listing import ListPage, count_matching, list_page, sort_fields, tie_breaker
from backoffice.admin.reads import ReadingView
from backoffice.admin.relations import (
    ChoicesConverter,
    apply_choices,
    relation_choices,
    searched_on_demand,
    use_choices,
)
from backoffice.admin.versions import remember_stale, submitted_version
from backoffice.errors import Conflict, DomainError, InvalidInput, Stale
from backoffice.models.permissions import ACTIONS
from backoffice.services import Caller
from backoffice.services.base import holds
from backoffice.services.resources import ResourceService

if TYPE_CHECKING:
    from backoffice.office import BackOffice

T = TypeVar("T")
SQLADMIN_ACTIONS = {
    "list": "view",
    "details": "view",
    "export": "view",
    "create": "add",
    "edit": "change",
    "delete": "delete",
}
S = TypeVar("S", bound=BaseModel)


class AdminFormError(Exception):
    """Shown to the staff user on the form; its text is safe to display and to log.

    ``fields``: the messages that concern one field each, shown beside that field (the form's
    template attaches them, ``admin.messages``); the text is the whole, for anything else."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class CSRFForm(Form):  # type: ignore[misc]
    csrf_token = HiddenField(default=current_csrf_token)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        apply_choices(self)  # relation choices for this request's caller (admin.relations)


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem, without echoing the input (it may be a password)."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "form"
        parts.append(f"{field.replace('_', ' ')}: {error['msg']}")
    return "; ".join(parts)


def validation_field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The same problems by the top-level field they concern."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        if error["loc"]:
            message = str(error["msg"]).removeprefix("Value error, ")
            fields.setdefault(str(error["loc"][0]), []).append(message)
    return fields


def domain_field_errors(exc: DomainError) -> dict[str, list[str]]:
    """A domain error's messages by the field they concern (none for a whole-form error)."""
    fields: dict[str, list[str]] = {}
    if isinstance(exc, InvalidInput):
        for error in exc.errors:
            fields.setdefault(error.field, []).append(error.message)
    elif isinstance(exc, Conflict) and exc.field:
        fields[exc.field] = [exc.detail]
    return fields


class ServiceModelView(ReadingView):
    """A SQLAdmin view whose create, edit and delete call a backoffice service.

    SQLAdmin's pages (list, search, sort, details, edit) read through queries narrowed by the
    service's visibility (``admin.reads``); every write goes through the same service the API
    uses, so a rule holds whichever door is used.
    """

    form_base_class = CSRFForm
    form_converter = ChoicesConverter
    """Relation fields get their choices per request, from the related resource's service."""
    can_export = True
    """Offer CSV and JSON export of the list's rows (search, filters and sort applied): streamed,
    secret-looking columns never written, formulas neutralised (see ``backoffice.admin.export``).
    Needs the ``view`` permission. Set False to offer no export."""
    list_template = "backoffice/list.html"
    """SQLAdmin's list, with export links that keep the list's query."""

    page_size = 25
    page_size_options: ClassVar[list[int]] = [10, 25, 50, 100]
    column_type_formatters: ClassVar[dict[Any, Any]] = TYPE_FORMATTERS
    """Dates and times in one readable format with the time zone (``admin.formatting``)."""

    list_count_cap: ClassVar[int] = 10_000
    """A list page (and the dashboard) counts at most this many matching rows; past it the page
    says "more than 10,000" and pages by its prev/next links (``admin.listing``)."""

    search_count_cap: ClassVar[int] = 1_000
    """The bound when the list is searched: a text search tests every row it counts (three
    ``ILIKE`` on the users), so counting 10,000 matches of a common word would cost more than
    the rest of the page; past this it says "more than 1,000"."""

    details_template = "backoffice/details.html"
    edit_template = "backoffice/edit.html"
    create_template = "backoffice/create.html"
    """SQLAdmin's pages plus the links to an object's own pages (history, set password)."""

    audit_type: ClassVar[str] = ""
    """The ``object_type`` of this view's rows in the audit log (the resource name); empty means
    the view has no history page."""

    fieldsets: ClassVar[Sequence[tuple[str, Sequence[str]]]] = ()
    """The create and edit forms' fields grouped under headings, as Django's ``fieldsets``:
    ``[("Account", ["email", "username"]), ("Access", ["is_staff", "groups"])]``. A form field
    named in no group is shown after them; empty: one group without a heading."""

    list_editable: ClassVar[Sequence[str]] = ()
    """List columns edited in place, as Django's ``list_editable``: each becomes an input in
    the list, and one "Save changes" POST saves every changed row through the service, all or
    nothing (``admin.list_editing``). Only views of registered resources support it."""

    permission_resource: ClassVar[str] = ""
    """The resource whose view/add/change/delete permissions govern this view; empty: any
    active staff user may do everything here (a resource registered with
    ``permissions=False``)."""

    def __init__(self) -> None:
        super().__init__()
        # Every field gets a human label, on every page and form, unless the view names one.
        for name in self._prop_names:
            self._column_labels.setdefault(name, human_label(name))
        self._column_labels_value_by_key = {v: k for k, v in self._column_labels.items()}

    def allows(self, request: Request, action: str) -> bool:
        """May the signed-in staff user ``action`` (view, add, change, delete) this resource?

        The same permissions the services check; here they decide what the admin shows
        (menu entries, buttons, pages), and the services still refuse whatever slips past.
        """
        user = getattr(request.state, "user", None)
        if user is None or not user.is_admin:
            return False
        decided = getattr(request.state, "resource_actions", {}).get(self.identity)
        if decided is not None:  # the resource's own service said (``resource_actions``)
            return action in decided
        if user.is_superuser or not self.permission_resource:
            return True
        codes = getattr(request.state, "permissions", None) or set()
        return holds(codes, self.permission_resource, action)

    def has_permission(self, request: Request, action: str, obj: Any | None = None) -> bool:
        """SQLAdmin's questions in our permission words (list, details and export are
        viewing; create is adding; edit is changing)."""
        ours = SQLADMIN_ACTIONS.get(str(action))
        return ours is not None and self.allows(request, ours)

    def is_accessible(self, request: Request) -> bool:
        # Any one permission opens the view's pages; each page then asks for its own (a
        # staff user who may only add reaches the create page, not the list).
        return any(self.allows(request, action) for action in ACTIONS)

    def is_visible(self, request: Request) -> bool:
        return self.allows(request, "view")

    async def check_can_list(self, request: Request) -> bool:
        # SQLAdmin would show the list page with no rows; a list is viewing.
        if not self.allows(request, "view"):
            raise HTTPException(status_code=403)
        return True

    # -- lists at any size (``admin.listing``) --------------------------------------------------

    async def list(self, request: Request) -> ListPage:
        return await list_page(self, request)

    async def bounded_count(
        self, request: Request, stmt: Select[Any] | None = None
    ) -> tuple[int, bool]:
        """How many rows the caller may see (``stmt``: a narrower list query), counting at
        most ``list_count_cap`` of them: (count, exact)."""
        await self.prepare_reads(request)
        query = stmt if stmt is not None else self.list_query(request)
        searched = stmt is not None and bool(request.query_params.get("search"))
        cap = min(self.search_count_cap, self.list_count_cap) if searched else self.list_count_cap
        return await count_matching(self, query, cap)

    def sort_query(self, stmt: Select[Any], request: Request) -> Select[Any]:
        """SQLAdmin's sort plus the key as tie-breaker: rows with equal sort values keep one
        order, so pages neither repeat nor skip a row."""
        stmt = super().sort_query(stmt, request)
        fields = sort_fields(self, request)
        key = tie_breaker(self)
        if all(name != key.key for name, _ in fields):
            descending = bool(fields) and fields[-1][1]
            stmt = stmt.order_by(key.desc() if descending else key.asc())
        return stmt

    async def scaffold_form(self, rules: builtins.list[str] | None = None) -> type[Form]:
        # The model field's description (``Field(description=...)``) is the form field's help
        # text, unless ``form_args`` gives one.
        texts = help_texts(self.model)
        given = type(self).form_args
        merged = {n: {**texts.get(n, {}), **given.get(n, {})} for n in {*texts, *given}}
        self.form_args = merged  # type: ignore[misc]  # this view's, per office
        form: type[Form] = await super().scaffold_form(rules)
        return form

    def form_groups(self, form: Any) -> builtins.list[tuple[str, builtins.list[Any]]]:
        """The form's visible fields grouped by ``fieldsets`` (for the form templates)."""
        fields = {f.name: f for f in form if getattr(f.widget, "input_type", None) != "hidden"}
        groups: builtins.list[tuple[str, builtins.list[Any]]] = []
        for title, names in self.fieldsets:
            chosen = [fields.pop(n) for n in names if n in fields]
            if chosen:
                groups.append((title, chosen))
        if fields:
            groups.append(("", list(fields.values())))
        return groups

    async def create_context(self, request: Request) -> dict[str, Any]:
        context: dict[str, Any] = await super().create_context(request)
        await self._choose(request, None)
        return context

    async def edit_context(self, request: Request) -> dict[str, Any]:
        context: dict[str, Any] = await super().edit_context(request)
        await self._choose(request, getattr(request.state, "backoffice_edited", None))
        return context

    async def _choose(self, request: Request, current: Any) -> None:
        """The relation fields' choices for this caller, before SQLAdmin makes the form."""
        ajax: set[str] = getattr(self, "_ajax_relation_names", set())
        names = [rel.key for rel in self._form_relations if rel.key not in ajax]
        searched = [n for n in names if searched_on_demand(self.office, self.model, n)]
        submitted: dict[str, list[str]] = {}
        if request.method == "POST":  # the submitted keys are checked as the choices are
            form = await request.form()
            submitted = {n: [str(v) for v in form.getlist(n)] for n in searched}
        choices = await relation_choices(
            self.office, self.model, names, self.caller(request), current, submitted
        )
        urls = {
            n: str(request.url_for("admin:relation_choices", identity=self.identity, field=n))
            for n in searched
        }
        use_choices(choices, urls)

    async def run(
        self, request: Request, action: Callable[[AsyncSession, Caller], Awaitable[T]]
    ) -> T:
        """One unit of work for one form submission; domain errors become form errors."""
        try:
            async with self.office.session() as session:
                return await action(session, self.caller(request))
        except Stale as exc:  # saved over a newer version: show what changed (admin.versions)
            await remember_stale(self, request, exc)
            raise AdminFormError(exc.detail) from None
        except DomainError as exc:
            raise AdminFormError(exc.detail, domain_field_errors(exc)) from None

    async def form_version(self, request: Request) -> int | None:
        """The version the submitted form was loaded with (``admin.versions``), for the
        service's ``version=``: a save over a newer one is refused, not written."""
        try:
            return await submitted_version(request)
        except DomainError as exc:
            raise AdminFormError(exc.detail, domain_field_errors(exc)) from None

    @staticmethod
    def parse(schema: type[S], data: dict[str, Any], fields: builtins.list[str]) -> S:
        """Validate form data with the resource's schema variant (tables skip validation)."""
        values = {name: _blank_to_none(data.get(name)) for name in fields if name in data}
        try:
            return schema.model_validate(values)
        except ValidationError as exc:
            raise AdminFormError(
                describe_validation_error(exc), validation_field_errors(exc)
            ) from None


def help_texts(model: Any) -> dict[str, dict[str, Any]]:
    """``form_args`` giving each form field its model field's description; a foreign key's
    description goes to the relationship field that edits it."""
    texts = {
        name: info.description
        for name, info in getattr(model, "model_fields", {}).items()
        if info.description
    }
    for rel in sa_inspect(model).relationships:
        local = [c.key for c in rel.local_columns]
        if rel.direction.name == "MANYTOONE" and len(local) == 1 and local[0] in texts:
            texts.setdefault(rel.key, texts[local[0]])
    return {name: {"description": text} for name, text in texts.items()}


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


__all__ = ["FORM_FIELD", "AdminFormError", "CSRFForm", "ServiceModelView"]


class _HideFormErrors(logging.Filter):
    """SQLAdmin logs every exception from a write hook with a traceback; a refused form is not
    an error of the server, so it is not logged as one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AdminFormError))


logging.getLogger("sqladmin.application").addFilter(_HideFormErrors())


async def resource_actions(
    admin: Any, office: "BackOffice", session: AsyncSession, caller: Caller
) -> dict[str, frozenset[str]]:
    """For each view of a registered resource with a generic service: the actions its
    ``has_permission(action)`` allows the caller, asked once per request (``allows`` is
    sync). A host's override then decides in the admin exactly as in the API."""
    decided: dict[str, frozenset[str]] = {}
    for view in admin.views:
        if not isinstance(view, ServiceModelView):
            continue
        resource = office.registry.for_model(view.model)
        if resource is None:
            continue
        service = resource.service(session, caller)
        if isinstance(service, ResourceService):
            decided[view.identity] = frozenset(
                [action for action in ACTIONS if await service.has_permission(action)]
            )
    return decided
