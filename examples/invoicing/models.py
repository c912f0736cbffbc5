"""The host's own tables: one field list each, with Create/Update/Public variants."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlmodel import Field, Relationship, SQLModel

from backoffice.models import User
from backoffice.models.common import created_at_field


class InvoiceStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    paid = "paid"


class CustomerBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=255)
    account_manager_id: int | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL", index=True
    )
    """The staff user who looks after this customer (a relation to backoffice's ``User``):
    only they, or a superuser, may change or delete it (``CustomerService``)."""


class Customer(CustomerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    invoices: list["Invoice"] = Relationship(back_populates="customer")
    account_manager: User | None = Relationship()

    def __str__(self) -> str:  # how the admin's select boxes show a customer
        return self.name


class CustomerCreate(CustomerBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class CustomerUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=255)
    account_manager_id: int | None = None


class CustomerPublic(CustomerBase):
    id: int
    created_at: datetime


class InvoiceBase(SQLModel):
    number: str = Field(
        min_length=1,
        max_length=30,
        unique=True,
        index=True,
        description="Unique, as printed on the invoice (e.g. INV-2026-001).",
    )
    customer_id: int = Field(
        foreign_key="customer.id",
        ondelete="RESTRICT",
        index=True,
        description="Who is billed.",
    )
    amount_cents: int = Field(ge=0, le=10**12, description="The total, in cents.")
    status: InvoiceStatus = Field(
        default=InvoiceStatus.draft,
        index=True,
        description="Draft, then sent, then paid; a paid invoice is final.",
    )


class Invoice(InvoiceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    customer: Customer | None = Relationship(back_populates="invoices")
    lines: list["InvoiceLine"] = Relationship(
        back_populates="invoice", sa_relationship_kwargs={"passive_deletes": True}
    )


class InvoiceCreate(InvoiceBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class InvoiceUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    number: str | None = Field(default=None, min_length=1, max_length=30)
    customer_id: int | None = None
    amount_cents: int | None = Field(default=None, ge=0, le=10**12)
    status: InvoiceStatus | None = None


class InvoicePublic(InvoiceBase):
    id: int
    created_at: datetime


class InvoiceLineBase(SQLModel):
    invoice_id: int = Field(foreign_key="invoice.id", ondelete="CASCADE", index=True)
    description: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    unit_price_cents: int = Field(ge=0, le=10**9)


class InvoiceLine(InvoiceLineBase, table=True):
    """One line of an invoice: edited on the invoice's own page (an inline in the admin)."""

    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice: Invoice | None = Relationship(back_populates="lines")

    def __str__(self) -> str:
        return self.description


class InvoiceLineCreate(InvoiceLineBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class InvoiceLineUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    description: str | None = Field(default=None, min_length=1, max_length=200)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    unit_price_cents: int | None = Field(default=None, ge=0, le=10**9)


class InvoiceLinePublic(InvoiceLineBase):
    id: int
