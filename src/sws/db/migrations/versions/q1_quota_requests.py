"""quota requests (扩容申请): a tenant's request, the rules' or an admin's decision

Revision ID: q1_quota_requests
Revises: cb8eb46f1405
Create Date: 2026-12-06 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "q1_quota_requests"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None

_TIME = sws.db.metadata.UTCDateTime(timezone=True)
RESOURCES = ("instances", "cores", "ram_mb", "floating_ips", "security_groups", "key_pairs")


def upgrade() -> None:
    op.create_table(
        "quota_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *(sa.Column(f"current_{name}", sa.Integer(), nullable=False) for name in RESOURCES),
        *(sa.Column(f"wanted_{name}", sa.Integer(), nullable=False) for name in RESOURCES),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quota_requests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_requests")),
    )
    with op.batch_alter_table("quota_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_requests_tenant_id"), ["tenant_id"])
        batch_op.create_index(batch_op.f("ix_quota_requests_state"), ["state"])


def downgrade() -> None:
    with op.batch_alter_table("quota_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_requests_state"))
        batch_op.drop_index(batch_op.f("ix_quota_requests_tenant_id"))
    op.drop_table("quota_requests")
