"""Stale saves in the admin: the edit form carries the version it was loaded with, and a save
over a newer one comes back showing what the other person changed instead of writing over it.

The form's hidden ``record_version`` field goes to the service as ``version=``; the service
refuses a save over a newer version (``Stale``). The view then reads, from the audit log, the
changes that moved the record on (who, when, each field's before and after) and puts them on
the request, where the edit template shows them above the form, which still holds what the
person typed. Its hidden version is now the current one: saving again re-applies their values
over the other person's, knowingly.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from backoffice.errors import InvalidInput, Stale
from backoffice.models import AuditEntry
from backoffice.services.audit import AuditService

if TYPE_CHECKING:
    from backoffice.admin.views import ServiceModelView

FIELD = "record_version"
"""The edit form's hidden field."""
_STATE = "backoffice_stale"


@dataclass
class StaleSave:
    """What the edit template shows after a refused save."""

    read_version: int
    current_version: int
    entries: list[AuditEntry] = field(default_factory=list)

    merged: dict[str, str] = field(default_factory=dict)
    """Field -> "theirs" (the person left it as they read it: the form now holds the other
    person's value) or "conflict" (both changed it: the form keeps this person's value)."""

    def merge(self, form: Any) -> str:
        """Fold the others' changes into the submitted ``form`` where this person left a field
        as it was, so re-applying changes only what they meant to change. Called by the
        template before the form is drawn; returns nothing to show."""
        first: dict[str, Any] = {}
        last: dict[str, Any] = {}
        for entry in self.entries:
            for name, change in entry.changes.items():
                if isinstance(change, list | tuple) and len(change) == 2:
                    first.setdefault(name, change[0])
                    last[name] = change[1]
        for name, before in first.items():
            if name not in form or not _plain(form[name].data):
                continue
            if _same(form[name].data, before):
                form[name].data = last[name]
                self.merged[name] = "theirs"
            elif not _same(form[name].data, last[name]):
                self.merged[name] = "conflict"
        return ""


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _same(submitted: Any, recorded: Any) -> bool:
    """A form value and an audit value (JSON) alike? Blank text is no value."""
    if isinstance(submitted, str) and not submitted.strip():
        submitted = None
    if isinstance(recorded, str) and not recorded.strip():
        recorded = None
    if isinstance(submitted, bool) or isinstance(recorded, bool):
        return bool(submitted) == bool(recorded)
    return submitted == recorded or (
        submitted is not None and recorded is not None and str(submitted) == str(recorded)
    )


async def submitted_version(request: Request) -> int | None:
    """The version the form was loaded with (None if the form has none: last save wins)."""
    if request.method != "POST":
        return None
    raw = (await request.form()).get(FIELD)
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput.single(
            FIELD, "is not a number: reload the page and make your change again."
        ) from None


async def remember_stale(view: "ServiceModelView", request: Request, exc: Stale) -> None:
    """On an edit page: keep what the template shows of a refused save (``stale_save``)."""
    pk = request.path_params.get("pk")
    read = await submitted_version(request)
    if pk is None or read is None:
        return
    entries: list[AuditEntry] = []
    if view.audit_type:
        async with view.office.session() as session:
            audit = AuditService(session, view.caller(request))
            entries = await audit.changes_since(view.audit_type, str(pk), read)
    setattr(request.state, _STATE, StaleSave(read, exc.current_version, entries))


def stale_save(request: Request) -> StaleSave | None:
    """For the edit template: the refused save of this request, if any."""
    found: Any = getattr(request.state, _STATE, None)
    return found if isinstance(found, StaleSave) else None
