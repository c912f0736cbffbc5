"""On SQLite, ids are never reused: tables keyed by one integer get AUTOINCREMENT.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:00:00.000000

Without AUTOINCREMENT, SQLite gives a new row the largest id plus one, so deleting the newest
user hands its id (and with it the deleted user's History and audit entries) to the next one.
New tables get AUTOINCREMENT when they are created (the application's engine module sees to
it); this revision rebuilds the existing ones in batch mode with it. Where the audit log remembers a larger id of a deleted user,
post or group than any row left, the table's counter starts above it, so that id is not given
again either. PostgreSQL's sequences never go back: nothing to do there. The downgrade keeps
AUTOINCREMENT (it changes no data and no query).
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {
    "user": "users",
    "post": "posts",
    "auth_group": "groups",
    "permission": None,
    "admin_session": None,
    "audit_entry": None,
    "refresh_token": None,
}
"""Each table keyed by one integer, and the audit log's name for its rows (if it has one)."""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, audit_type in TABLES.items():
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        if audit_type is None:
            continue
        # The rebuild started the counter at the largest id copied; the audit log may know a
        # larger one, of a row deleted since.
        known = bind.exec_driver_sql(
            "SELECT MAX(CAST(object_id AS INTEGER)) FROM audit_entry WHERE object_type = ?",
            (audit_type,),
        ).scalar()
        if known is None:
            continue
        current = bind.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)
        ).scalar()
        if current is None:
            bind.exec_driver_sql(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, known)
            )
        elif current < known:
            bind.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (known, table)
            )


def downgrade() -> None:
    pass
