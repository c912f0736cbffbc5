"""The app's rules, in services: every door (API, admin, CLI) refuses the same things."""

from typing import Any, ClassVar

from sqlmodel import col, func, select

from backoffice.errors import Conflict, InvalidInput
from backoffice.models.permissions import Action
from backoffice.services.actions import resource_action
from backoffice.services.resources import ResourceService
from examples.invoicing.models import Customer, Invoice, InvoiceLine, InvoiceStatus

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


class InvoiceLineService(ResourceService):
    """An invoice's lines change only while it is a draft, and no two lines of one invoice
    say the same thing. The admin edits lines on the invoice's page (an inline): each line
    still comes through here, so a refused line refuses the whole save."""

    sort_fields: ClassVar[tuple[str, ...]] = ("id",)
    default_sort: ClassVar[str] = "id"

    async def before_create(self, values: dict[str, Any]) -> None:
        await self._require_draft(values["invoice_id"])
        await self._require_new_description(values["invoice_id"], values["description"], None)

    async def before_update(self, obj: Any, changes: dict[str, Any]) -> None:
        assert isinstance(obj, InvoiceLine)
        await self._require_draft(obj.invoice_id)
        description = changes.get("description")
        if description is not None and description != obj.description:
            await self._require_new_description(obj.invoice_id, description, obj.id)

    async def before_delete(self, obj: Any) -> None:
        assert isinstance(obj, InvoiceLine)
        await self._require_draft(obj.invoice_id)

    async def _require_draft(self, invoice_id: int) -> None:
        invoice = await self.session.get(Invoice, invoice_id)
        if invoice is not None and invoice.status != InvoiceStatus.draft:
            raise Conflict(
                f"Invoice {invoice.number} is {invoice.status.value}: only a draft's lines "
                "can change (take it back to draft first)."
            )

    async def _require_new_description(
        self, invoice_id: int, description: str, line_id: int | None
    ) -> None:
        query = select(func.count()).where(
            col(InvoiceLine.invoice_id) == invoice_id,
            func.lower(col(InvoiceLine.description)) == description.strip().lower(),
            col(InvoiceLine.id) != (line_id or 0),
        )
        if await self.session.scalar(query):
            raise Conflict(
                f"This invoice already has a line \u201c{description}\u201d.", field="description"
            )
