"""teams: a user joins other tenants with the account it has; a session acts in one of them

Revision ID: t2_team_memberships
Revises: t1_team_invitations
Create Date: 2026-12-06 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "t2_team_memberships"
down_revision = "t1_team_invitations"
branch_labels = None
depends_on = None

_TIME = sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_memberships_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("user_id", "tenant_id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_tenant_id"), ["tenant_id"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("tenant_id")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_tenant_id"))
    op.drop_table("memberships")
