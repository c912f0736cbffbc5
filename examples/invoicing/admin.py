"""How the invoicing tables look in the admin: options, nothing else."""

from typing import ClassVar

from backoffice.admin.inlines import InlineAdmin
from backoffice.admin.resources import ResourceAdmin
from examples.invoicing.models import InvoiceLine


class CustomerAdmin(ResourceAdmin):
    column_list: ClassVar[tuple[str, ...]] = ("id", "name", "email", "account_manager")
    column_details_list: ClassVar[tuple[str, ...]] = (
        "id",
        "name",
        "email",
        "account_manager",
        "created_at",
    )
    column_labels: ClassVar[dict[str, str]] = {"account_manager": "Account manager"}
    icon: ClassVar[str] = "fa-solid fa-building"


class InvoiceLineInline(InlineAdmin):
    """An invoice's lines, added, changed and deleted on the invoice's own page."""

    model = InvoiceLine
    fields: ClassVar[tuple[str, ...]] = ("description", "quantity", "unit_price_cents")
    extra: ClassVar[int] = 2


class InvoiceLineAdmin(ResourceAdmin):
    column_labels: ClassVar[dict[str, str]] = {"unit_price_cents": "Unit price (cents)"}
    icon: ClassVar[str] = "fa-solid fa-list"


class InvoiceAdmin(ResourceAdmin):
    column_list: ClassVar[tuple[str, ...]] = ("id", "number", "customer", "amount_cents", "status")
    column_details_list: ClassVar[tuple[str, ...]] = (
        "id",
        "number",
        "customer",
        "amount_cents",
        "status",
        "created_at",
    )
    form_columns: ClassVar[tuple[str, ...]] = ("number", "customer", "amount_cents", "status")
    column_labels: ClassVar[dict[str, str]] = {"amount_cents": "Amount (cents)"}
    fieldsets: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("Invoice", ("number", "customer")),
        ("Billing", ("amount_cents", "status")),
    )
    inlines: ClassVar[tuple[type[InlineAdmin], ...]] = (InvoiceLineInline,)
    list_editable: ClassVar[tuple[str, ...]] = ("amount_cents", "status")
    icon: ClassVar[str] = "fa-solid fa-file-invoice"
