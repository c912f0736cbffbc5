"""The app's rules, in services: every door (API, admin, CLI) refuses the same things."""

from typing import Any, ClassVar

from backoffice.errors import Conflict, InvalidInput
from backoffice.services.resources import ResourceService
from examples.invoicing.models import Invoice, InvoiceStatus

TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.draft: frozenset({InvoiceStatus.sent}),
    InvoiceStatus.sent: frozenset({InvoiceStatus.draft, InvoiceStatus.paid}),
    InvoiceStatus.paid: frozenset(),
}
"""Where an invoice's status may go from each status. A sent invoice may be taken back to
draft (to correct it) or marked paid; a paid invoice is final: nothing about it changes again,
its status included, so "set it to draft, edit, set it back" cannot happen."""


class CustomerService(ResourceService):
    search_fields: ClassVar[tuple[str, ...]] = ("name", "email")
    sort_fields: ClassVar[tuple[str, ...]] = ("id", "name", "created_at")
    default_sort: ClassVar[str] = "name"


class InvoiceService(ResourceService):
    search_fields: ClassVar[tuple[str, ...]] = ("number",)
    filter_fields: ClassVar[tuple[str, ...]] = ("status", "customer_id")
    sort_fields: ClassVar[tuple[str, ...]] = ("id", "number", "amount_cents", "created_at")
    unique_fields: ClassVar[dict[str, str]] = {"number": "An invoice with this number exists."}

    async def before_delete(self, obj: Any) -> None:
        assert isinstance(obj, Invoice)
        if obj.status == InvoiceStatus.paid:
            raise Conflict("A paid invoice cannot be deleted.")

    async def before_update(self, obj: Any, changes: dict[str, Any]) -> None:
        assert isinstance(obj, Invoice)
        # A form sends every field, changed or not: only real changes count.
        changed = {k for k, v in changes.items() if v != getattr(obj, k)}
        if obj.status == InvoiceStatus.paid and changed:
            raise Conflict("A paid invoice cannot be changed.")
        new_status = changes.get("status")
        if "status" in changed and new_status not in TRANSITIONS[obj.status]:
            allowed = ", ".join(sorted(TRANSITIONS[obj.status])) or "none"
            raise InvalidInput.single(
                "status",
                f"An invoice cannot go from {obj.status.value} to {InvoiceStatus(new_status).value}"
                f" (allowed: {allowed}).",
            )
