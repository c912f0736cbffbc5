"""Customers' account managers: a nullable reference to backoffice's user table.

Revision ID: inv0002
Revises: inv0001
Create Date: 2026-12-04 16:30:57.371393

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "inv0002"
down_revision: str | Sequence[str] | None = "inv0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_manager_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customer_account_manager_id"), ["account_manager_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_account_manager_id_user"),
            "user",
            ["account_manager_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customer_account_manager_id_user"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_customer_account_manager_id"))
        batch_op.drop_column("account_manager_id")
