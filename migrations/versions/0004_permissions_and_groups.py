"""Permissions and groups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:22:17.313592

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_group")),
        sa.UniqueConstraint("name", name=op.f("uq_auth_group_name")),
    )
    op.create_table(
        "permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission")),
        sa.UniqueConstraint("resource", "action", name=op.f("uq_permission_resource")),
    )
    op.create_table(
        "group_permission",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("permission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["auth_group.id"],
            name=op.f("fk_group_permission_group_id_auth_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permission.id"],
            name=op.f("fk_group_permission_permission_id_permission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "permission_id", name=op.f("pk_group_permission")),
    )
    op.create_table(
        "user_group",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["auth_group.id"],
            name=op.f("fk_user_group_group_id_auth_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_group_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_user_group")),
    )
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_group_group_id"), ["group_id"], unique=False)

    op.create_table(
        "user_permission",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("permission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permission.id"],
            name=op.f("fk_user_permission_permission_id_permission"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_user_permission_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "permission_id", name=op.f("pk_user_permission")),
    )
    with op.batch_alter_table("user_permission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_permission_permission_id"), ["permission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("user_permission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_permission_permission_id"))

    op.drop_table("user_permission")
    with op.batch_alter_table("user_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_group_group_id"))

    op.drop_table("user_group")
    op.drop_table("group_permission")
    op.drop_table("permission")
    op.drop_table("auth_group")
