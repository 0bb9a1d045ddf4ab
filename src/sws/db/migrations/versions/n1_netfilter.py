"""the SWS filter: internal networks, allow rules, Cloud Bridge, agent reports

Revision ID: n1_netfilter
Revises: cb8eb46f1405
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "n1_netfilter"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "netfilter_internal_networks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netfilter_internal_networks")),
        sa.UniqueConstraint("cidr", name=op.f("uq_netfilter_internal_networks_cidr")),
    )
    op.create_table(
        "netfilter_allow_rules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("instance_id", sa.String(length=64), nullable=True),
        sa.Column("instance_tenant_id", sa.String(length=64), nullable=True),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("port_min", sa.Integer(), nullable=True),
        sa.Column("port_max", sa.Integer(), nullable=True),
        sa.Column("expires_at", _utc(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netfilter_allow_rules")),
    )
    with op.batch_alter_table("netfilter_allow_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_netfilter_allow_rules_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_netfilter_allow_rules_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "netfilter_bridge_sources",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netfilter_bridge_sources")),
        sa.UniqueConstraint("cidr", name=op.f("uq_netfilter_bridge_sources_cidr")),
    )
    op.create_table(
        "netfilter_bridge_grants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netfilter_bridge_grants")),
        sa.UniqueConstraint(
            "instance_id", "port", name="uq_netfilter_bridge_grants_instance_port"
        ),
    )
    with op.batch_alter_table("netfilter_bridge_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_netfilter_bridge_grants_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "netfilter_agent_reports",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expected_digest", sa.String(length=64), nullable=True),
        sa.Column("in_sync", sa.Boolean(), nullable=False),
        sa.Column("elements", sa.Integer(), nullable=False),
        sa.Column("drift", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("apply_seconds", sa.String(length=16), nullable=True),
        sa.Column("reported_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_netfilter_agent_reports")),
    )


def downgrade() -> None:
    op.drop_table("netfilter_agent_reports")
    with op.batch_alter_table("netfilter_bridge_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netfilter_bridge_grants_tenant_id"))
    op.drop_table("netfilter_bridge_grants")
    op.drop_table("netfilter_bridge_sources")
    with op.batch_alter_table("netfilter_allow_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netfilter_allow_rules_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_netfilter_allow_rules_instance_id"))
    op.drop_table("netfilter_allow_rules")
    op.drop_table("netfilter_internal_networks")
