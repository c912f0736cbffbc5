"""What the admin tells a staff user after a form: a success message after each change, and a
refused form's problems beside the fields they concern, one line each (Django's way)."""

from typing import Any

from sqladmin.flash import flash
from starlette.requests import Request
from wtforms import Form

from backoffice.admin.formatting import label_of
from backoffice.admin.trash import trash_of
from backoffice.admin.views import AdminFormError

_STATE_KEY = "backoffice_field_errors"


def remember_field_errors(request: Request, exc: AdminFormError) -> None:
    """Kept for the form's template (``form_problems``), which re-renders the refused form."""
    setattr(request.state, _STATE_KEY, exc.fields)


def form_problems(request: Request, form: Form | None, error: str | None) -> list[str]:
    """For templates: attach each remembered field error to its form field, and return what
    is left for the banner above the form (one message per line)."""
    fields: dict[str, list[str]] = getattr(request.state, _STATE_KEY, {}) or {}
    left: list[str] = []
    for name, messages in fields.items():
        field = form._fields.get(name) if form is not None else None
        if field is None:
            left.extend(f"{name.replace('_', ' ').capitalize()}: {m}" for m in messages)
        else:
            field.errors = [*(field.errors or []), *messages]
    if error and not fields:
        left.append(error)
    if form is not None and any(f.errors for f in form):
        left.insert(0, "Please correct the errors below.")
    return left


class SuccessMessages:
    """Mixed into every admin view of a service (``setup_admin``): each create, edit and delete
    that went through says so on the next page; a refused one keeps its field errors."""

    name: str

    def message_label(self, obj: Any) -> str:
        return label_of(self, obj)

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        try:
            obj = await super().insert_model(request, data)  # type: ignore[misc]
        except AdminFormError as exc:
            remember_field_errors(request, exc)
            raise
        flash(request, f"{self.name} “{self.message_label(obj)}” was added.", "success")
        return obj

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        try:
            obj = await super().update_model(request, pk, data)  # type: ignore[misc]
        except AdminFormError as exc:
            remember_field_errors(request, exc)
            raise
        flash(request, f"{self.name} “{self.message_label(obj)}” was changed.", "success")
        return obj

    async def delete_model(self, request: Request, pk: Any) -> None:
        await super().delete_model(request, pk)  # type: ignore[misc]
        if request.method == "DELETE":  # SQLAdmin's delete; a bulk action reports its own
            where = " (to the trash)" if trash_of(self) is not None else ""
            flash(request, f"{self.name} {pk} was deleted{where}.", "success")
