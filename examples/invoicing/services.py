"""The app's rules, in services: every door (API, admin) refuses the same things."""

from typing import Any, ClassVar

from backoffice.errors import Conflict
from backoffice.services.resources import ResourceService
from examples.invoicing.models import Invoice, InvoiceStatus


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
        if obj.status == InvoiceStatus.paid and set(changes) - {"status"}:
            raise Conflict("A paid invoice cannot be changed.")
