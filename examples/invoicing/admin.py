"""How the invoicing tables look in the admin: options, nothing else."""

from typing import ClassVar

from backoffice.admin.resources import ResourceAdmin


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
    icon: ClassVar[str] = "fa-solid fa-file-invoice"
