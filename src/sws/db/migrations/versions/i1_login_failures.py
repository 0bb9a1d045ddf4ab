"""failed logins, counted by the login throttle every process shares

Revision ID: i1_login_failures
Revises: cb8eb46f1405
Create Date: 2026-12-06 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "i1_login_failures"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sws.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_login_failures_failed_at"), ["failed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_failed_at"))
        batch_op.drop_index(batch_op.f("ix_login_failures_key"))
    op.drop_table("login_failures")
