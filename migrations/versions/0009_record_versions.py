"""Record versions: users, posts and groups carry a version counter; each audit entry says
which version its change made.

Revision ID: 0009_record_versions
Revises: 0006
Create Date: 2026-12-04 19:00:00.000000

A save that names the version it read is refused when the row has moved on (someone else saved
in between), instead of writing over their change. Existing rows start at version 1.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_record_versions"
down_revision: str | None = "0008_second_factors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("user", "post", "auth_group")


# Plain ALTER TABLE, not batch mode: SQLite adds (and, since 3.35, drops) a column in place,
# where a batch rebuild would lose the AUTOINCREMENT counters revision 0006 set.


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    op.add_column("audit_entry", sa.Column("object_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_entry", "object_version")
    for table in reversed(TABLES):
        op.drop_column(table, "version")
