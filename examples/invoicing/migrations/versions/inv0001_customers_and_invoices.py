"""Customers and invoices.

Revision ID: inv0001
Revises:
Create Date: 2026-11-24 14:31:30.039352

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "inv0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
    )
    op.create_table(
        "invoice",
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("draft", "sent", "paid", name="invoicestatus"), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_invoice_customer_id_customer"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_invoice_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_status"))
        batch_op.drop_index(batch_op.f("ix_invoice_number"))
        batch_op.drop_index(batch_op.f("ix_invoice_customer_id"))

    op.drop_table("invoice")
    op.drop_table("customer")
    sa.Enum(name="invoicestatus").drop(op.get_bind(), checkfirst=True)  # PostgreSQL keeps types
