"""List-editable columns (``list_editable``): chosen columns of a list page edited in place.

Each such cell is an input tied (``form=``) to one form under the table, which POSTs with the
CSRF token to ``/{identity}/list-edit`` (the list's query kept). There every changed row is
updated through the resource's service in one unit of work (``services.batch``): **all or
nothing**. If any row is refused, nothing is written and the list comes back (400) with what
was typed and each refused row's reason in place; otherwise a message says how many rows
changed and the browser goes back to the list (303).
"""

from dataclasses import dataclass, field
from typing import Any

from sqladmin import Admin
from sqladmin.authentication import login_required
from sqladmin.flash import flash
from sqladmin.helpers import get_object_identifier
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.cells import cell_input, cell_text, submitted_value
from backoffice.admin.lookup import AdminPage, service_view
from backoffice.admin.views import ServiceModelView
from backoffice.errors import DomainError
from backoffice.services import Caller
from backoffice.services.batch import RowsRefused, Step, field_messages, save_all_or_nothing
from backoffice.services.bounds import int_bounds

FORM_ID = "list-edit"
MAX_ROWS = 100
"""A list page shows at most 100 rows; a save naming more is refused."""


@dataclass
class ListEdit:
    """What a refused save shows again: the texts typed and the reasons, by row key."""

    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)


class ListEditableView(ServiceModelView):
    """A view whose ``list_editable`` columns are inputs in its list page."""

    def editable_in_list(self, request: Request) -> bool:
        return bool(self.list_editable) and self.can_edit and self.allows(request, "change")

    async def get_list_value(
        self, obj: Any, prop: str, request: Request | None = None
    ) -> tuple[Any, Any]:
        value, formatted = await super().get_list_value(obj, prop, request)
        if request is None or prop not in self.list_editable or not self.editable_in_list(request):
            return value, formatted
        pk = str(get_object_identifier(obj))
        shown: ListEdit = getattr(request.state, "backoffice_list_edit", None) or ListEdit()
        errors = shown.errors.get(pk, {})
        error = errors.get(prop, "")
        if "" in errors and prop == self.list_editable[0]:  # the row as a whole
            error = "; ".join(filter(None, [errors[""], error]))
        text = shown.texts.get(pk, {}).get(prop, cell_text(value))
        label = self._column_labels.get(prop, prop.replace("_", " ").capitalize())
        cell = cell_input(
            self.model,
            prop,
            text,
            input_name=f"row-{pk}-{prop}",
            label=f"{label} ({pk})",
            form=FORM_ID,
            error=error,
        )
        return value, cell

    async def save_list_rows(self, request: Request, texts: dict[str, dict[str, str]]) -> int:
        """Update each row whose texts differ from what is stored, all or nothing; the number
        of rows changed. Refused rows: ``RowsRefused``."""
        changed: list[int] = []

        async def save(session: Any, caller: Caller) -> None:
            service = self.office.service(getattr(self, "resource_name", ""), session, caller)
            steps: list[Step] = [
                (pk, self._row_step(service, pk, t, changed)) for pk, t in texts.items()
            ]
            await save_all_or_nothing(session, steps)

        async with self.office.session() as session:
            await save(session, self.caller(request))
        return len(changed)

    def _row_step(self, service: Any, pk: str, texts: dict[str, str], changed: list[int]) -> Any:
        async def step() -> None:
            row = await service.get(int(pk))
            changes = {
                n: submitted_value(self.model, n, t)
                for n, t in texts.items()
                if cell_text(getattr(row, n)) != t
            }
            if changes:
                await service.update(int(pk), changes)
                changed.append(int(pk))

        return step


class ListEditing(AdminPage):
    @login_required
    async def save(self, request: Request) -> Response:
        view = service_view(self._admin_ref, request.path_params["identity"])
        if not isinstance(view, ListEditableView) or not view.list_editable:
            raise HTTPException(404, "This list has no editable columns.")
        if not view.editable_in_list(request):
            raise HTTPException(403, "You may not change these rows.")
        form = await request.form()
        keys = _row_keys(view, str(form.get("pks") or ""))
        texts = {
            pk: {n: _text(form.get(f"row-{pk}-{n}")) for n in view.list_editable} for pk in keys
        }
        list_url = request.url_for("admin:list", identity=view.identity)
        query = request.url.query
        try:
            count = await view.save_list_rows(request, texts)
        except RowsRefused as exc:
            errors = {str(pk): field_messages(e) for pk, e in exc.refused.items()}
            request.state.backoffice_list_edit = ListEdit(texts, errors)
            return await self._list_again(request, view, exc.detail)
        except DomainError as exc:
            request.state.backoffice_list_edit = ListEdit(texts, {})
            return await self._list_again(request, view, exc.detail)
        rows = "row" if count == 1 else "rows"
        flash(request, f"Saved {count} {rows}." if count else "Nothing changed.", "success")
        return RedirectResponse(f"{list_url}{'?' + query if query else ''}", status_code=303)

    async def _list_again(self, request: Request, view: ServiceModelView, error: str) -> Response:
        """SQLAdmin's list page for the same query, the typed texts and reasons in place."""
        path = request.scope["path"].removesuffix("/list-edit") + "/list"
        scope = {**request.scope, "method": "GET", "path": path, "raw_path": path.encode()}
        listing = Request(scope, request.receive)
        flash(listing, error, "danger", "Not saved")
        response: Response = await self._admin_ref.list(listing)
        response.status_code = 400
        return response


def _row_keys(view: ServiceModelView, raw: str) -> list[str]:
    """The keys of the rows the page showed (``1,2,3``); a malformed list is a 400."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_ROWS:
        raise HTTPException(400, f"Save at most {MAX_ROWS} rows at a time.")
    low, high = int_bounds(view.pk_columns[0])
    for part in parts:
        if not part.isdigit() or not low <= int(part) <= high:
            raise HTTPException(400, "The rows to save are not named correctly.")
    return list(dict.fromkeys(parts))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def list_edit_routes(admin: Admin) -> list[Route]:
    page = ListEditing(admin)
    return [Route("/{identity}/list-edit", page.save, methods=["POST"], name="list_edit")]
