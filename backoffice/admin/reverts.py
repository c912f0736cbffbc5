"""Revert in the admin: the History's "Revert this change" and "Revert everything this request
did" buttons, and the same on an audit entry's page (a deleted row comes back from there).

Each button is a form that POSTs, with the CSRF token, to ``/revert``: ``entry`` (an audit
entry's id) or ``unit`` (its unit of work), and ``next``, the admin page to go back to. The
revert itself is ``services.reverting``'s: refused with its reasons (a later change touched the
same fields), the answer is a page listing them, with "Revert anyway" for a superuser; refused
by the resource's rules, a message on the page it came from.
"""

from typing import Any

from sqladmin import Admin, Flash
from sqladmin.authentication import login_required
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from backoffice.admin.audit import AuditEntryAdmin
from backoffice.admin.auth import admin_caller, safe_next
from backoffice.admin.lookup import AdminPage, render, view_of
from backoffice.errors import DomainError, NotFound, PermissionDenied, RevertRefused
from backoffice.models.common import MAX_ID

TEMPLATE = "backoffice/revert_refused.html"


class RevertPage(AdminPage):
    @login_required
    async def revert(self, request: Request) -> Response:
        audit = view_of(self._admin_ref, AuditEntryAdmin)
        if audit is None:
            raise HTTPException(status_code=404)
        if not audit.allows(request, "view"):
            raise HTTPException(status_code=403)
        form = await request.form()
        entry, unit = _target(form)
        force = form.get("force") == "1"
        office = audit.office
        back = safe_next(form.get("next"), office.settings.admin_path) or str(
            request.url_for("admin:list", identity=audit.identity)
        )
        try:
            async with office.session() as session:
                reverts = office.reverts(session, admin_caller(request))
                if unit is not None:
                    written = await reverts.revert_unit(unit, force=force)
                else:
                    assert entry is not None
                    written = await reverts.revert_entry(entry, force=force)
        except NotFound:
            raise HTTPException(status_code=404) from None
        except PermissionDenied as exc:
            raise HTTPException(status_code=403, detail=exc.detail) from None
        except RevertRefused as exc:
            context: dict[str, Any] = {
                "title": "Revert refused",
                "reasons": exc.reasons,
                "forcible": exc.forcible,
                "entry": entry,
                "unit": unit,
                "back": back,
            }
            return await render(self._admin_ref, request, TEMPLATE, context, status_code=409)
        except DomainError as exc:
            Flash.error(request, exc.detail)  # "Nothing was reverted: …"
            return RedirectResponse(back, status_code=303)
        count = len(written)
        changes = "change" if count == 1 else "changes"
        Flash.success(
            request,
            f"Reverted: {count} {changes} written to the audit log (itself revertible)."
            if count
            else "Nothing to revert: the rows already hold the recorded values.",
        )
        return RedirectResponse(back, status_code=303)


def _target(form: FormData) -> tuple[int | None, str | None]:
    """The entry id or the unit the form names (exactly one), else 400."""
    entry, unit = form.get("entry"), form.get("unit")
    if isinstance(unit, str) and unit and not entry:
        if len(unit) == 32 and all(c in "0123456789abcdef" for c in unit):
            return None, unit
    elif isinstance(entry, str) and entry.isdigit() and not unit and 1 <= int(entry) <= MAX_ID:
        return int(entry), None
    raise HTTPException(status_code=400, detail="Say which change to revert.")


def revert_routes(admin: Admin) -> list[Route]:
    page = RevertPage(admin)
    return [Route("/revert", page.revert, methods=["POST"], name="revert")]
