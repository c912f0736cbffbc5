"""Indexes for the user list's sorts and searches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 16:41:01.000000

B-tree indexes on ``user (created_at, id)`` and ``user (last_login, id)``: the list sorts by
either with the id breaking ties, and an index on both columns answers a page without sorting,
even where many rows tie (a null ``last_login`` for every account that never signed in). The
model declares them. On PostgreSQL only, trigram (``pg_trgm``) GIN indexes for the list's
search, which looks for the term anywhere in ``email``, ``username`` and ``lower(full_name)``
(``LIKE '%term%'``, which no b-tree can serve; e-mail addresses and usernames are stored
lower-case). The model cannot declare these (an operator class on PostgreSQL, nothing on
SQLite), so the migration environment leaves them out of the drift check.

``CREATE EXTENSION pg_trgm`` needs the right to create extensions in the database (pg_trgm is a
trusted extension: the database owner has it). Building the indexes on a large table takes a
while and blocks writes to ``user`` meanwhile. Run ``ANALYZE "user"`` afterwards: the planner
uses the ``lower(full_name)`` index only once it has statistics for the expression.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Index name -> the indexed expression, exactly as the search writes it (so the planner can
# match the query's LIKE to the index).
TRIGRAM_INDEXES = {
    "ix_user_email_trgm": "email",
    "ix_user_username_trgm": "username",
    "ix_user_full_name_trgm": "lower(full_name)",
}


def is_postgresql() -> bool:
    # The context's dialect, not the connection's: also right when rendering SQL offline.
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_created_at"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_last_login"), ["last_login", "id"], unique=False)
    if is_postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in TRIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON "user" USING gin ({expression} gin_trgm_ops)')


def downgrade() -> None:
    if is_postgresql():
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # pg_trgm stays: other tables or applications in the same database may use it.
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_last_login"))
        batch_op.drop_index(batch_op.f("ix_user_created_at"))
