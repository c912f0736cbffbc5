"""The app's rules, in services: every door (API, admin, CLI) refuses the same things."""

from typing import Any, ClassVar

from backoffice.errors import Conflict, InvalidInput
from backoffice.models.permissions import Action
from backoffice.services.actions import resource_action
from backoffice.services.resources import ResourceService
from examples.invoicing.models import Customer, Invoice, InvoiceStatus

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

    async def has_permission(self, action: Action, obj: Any = None) -> bool:
        """A per-object rule: a customer with an account manager is theirs. Holding
        ``customers.change`` (or ``.delete``) is not enough to change (delete) it: one must be
        its account manager, or a superuser. Everyone who may view customers still sees it."""
        if not await super().has_permission(action, obj):
            return False
        if not isinstance(obj, Customer) or action not in ("change", "delete"):
            return True
        manager = obj.account_manager_id
        return manager is None or manager == self.caller.user_id or self.caller.is_superuser


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

    @resource_action(
        "Mark paid",
        permission="change",
        done="Paid",
        confirm="Mark this invoice as paid? A paid invoice cannot be changed again.",
    )
    async def mark_paid(self, obj: Any) -> None:
        """A custom action: a sent invoice becomes paid (along ``TRANSITIONS``); the admin
        shows it as a button and a bulk action, the API as ``POST /api/invoices/{id}/mark_paid``."""
        assert isinstance(obj, Invoice)
        if InvoiceStatus.paid not in TRANSITIONS[obj.status]:
            raise Conflict(
                f"Only a sent invoice can be marked paid; invoice {obj.number} is "
                f"{obj.status.value}."
            )
        obj.status = InvoiceStatus.paid
