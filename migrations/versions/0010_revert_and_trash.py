"""Revert and trash: each audit entry names the unit of work that wrote it; users and posts
can be moved to the trash instead of being deleted.

Revision ID: 0010_revert_and_trash
Revises: 0009_record_versions
Create Date: 2026-12-05 09:00:00.000000

"Revert everything this request did" reverts the entries of one unit (an API request, an admin
form, a bulk action, a command). A row in the trash keeps its place (its unique values stay
taken) with ``deleted_at`` and ``deleted_by`` set; every door's reads leave it out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_revert_and_trash"
down_revision: str | None = "0009_record_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("user", "post")


# Plain ALTER TABLE, not batch mode: a batch rebuild on SQLite would lose the AUTOINCREMENT
# counters revision 0006 set.


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("unit", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_audit_entry_unit"), "audit_entry", ["unit"], unique=False)
    for table in TABLES:
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("deleted_by", sa.String(length=60), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, "deleted_by")
        op.drop_column(table, "deleted_at")
    op.drop_index(op.f("ix_audit_entry_unit"), table_name="audit_entry")
    op.drop_column("audit_entry", "unit")
