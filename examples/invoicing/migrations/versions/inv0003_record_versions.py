"""Record versions: customers and invoices carry the version counter backoffice adds to the
tables it registers (written by ``backoffice makemigrations``).

Revision ID: inv0003
Revises: inv0002
Create Date: 2026-12-04 18:42:54.155914

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "inv0003"
down_revision: str | Sequence[str] | None = "inv0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("customer", "invoice"):
        op.add_column(
            table, sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    for table in ("invoice", "customer"):
        op.drop_column(table, "version")
