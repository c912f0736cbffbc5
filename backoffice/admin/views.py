"""The base of every backoffice admin view: writes go through the services, never around them."""

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from wtforms import Form, HiddenField

from backoffice.admin.csrf import FORM_FIELD, current_csrf_token
from backoffice.admin.formatting import TYPE_FORMATTERS, human_label
from backoffice.admin.reads import ReadingView
from backoffice.admin.relations import (
    ChoicesConverter,
    apply_choices,
    relation_choices,
    searched_on_demand,
    use_choices,
)
from backoffice.errors import Conflict, DomainError, InvalidInput
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

    details_template = "backoffice/details.html"
    edit_template = "backoffice/edit.html"
    create_template = "backoffice/create.html"
    """SQLAdmin's pages plus the links to an object's own pages (history, set password)."""

    audit_type: ClassVar[str] = ""
    """The ``object_type`` of this view's rows in the audit log (the resource name); empty means
    the view has no history page."""

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
        except DomainError as exc:
            raise AdminFormError(exc.detail, domain_field_errors(exc)) from None

    @staticmethod
    def parse(schema: type[S], data: dict[str, Any], fields: list[str]) -> S:
        """Validate form data with the resource's schema variant (tables skip validation)."""
        values = {name: _blank_to_none(data.get(name)) for name in fields if name in data}
        try:
            return schema.model_validate(values)
        except ValidationError as exc:
            raise AdminFormError(
                describe_validation_error(exc), validation_field_errors(exc)
            ) from None


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
