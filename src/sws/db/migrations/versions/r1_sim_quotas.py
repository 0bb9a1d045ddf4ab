"""simulated region: a project's own quota, set by an admin or an approved quota request

Revision ID: r1_sim_quotas
Revises: cb8eb46f1405
Create Date: 2026-12-06 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r1_sim_quotas"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None

RESOURCES = ("instances", "cores", "ram_mb", "floating_ips", "security_groups", "key_pairs")


def upgrade() -> None:
    op.create_table(
        "sim_quotas",
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in RESOURCES),
        sa.PrimaryKeyConstraint("region", "project_id", name=op.f("pk_sim_quotas")),
    )


def downgrade() -> None:
    op.drop_table("sim_quotas")
