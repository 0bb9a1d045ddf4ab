"""load balancers: LBs, host names, members, member health, nodes, configuration version

Revision ID: l1_loadbalancer
Revises: cb8eb46f1405
Create Date: 2026-11-21 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "l1_loadbalancer"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def _loadbalancers() -> None:
    op.create_table(
        "lb_loadbalancers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("monitor_type", sa.String(length=32), nullable=False),
        sa.Column("monitor_interval_ms", sa.Integer(), nullable=False),
        sa.Column("monitor_timeout_ms", sa.Integer(), nullable=False),
        sa.Column("monitor_rise", sa.Integer(), nullable=False),
        sa.Column("monitor_fall", sa.Integer(), nullable=False),
        sa.Column("monitor_http_path", sa.String(length=255), nullable=False),
        sa.Column("monitor_expected_codes", sa.String(length=32), nullable=False),
        sa.Column("public_domain_server_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_loadbalancers")),
        sa.UniqueConstraint("port", name=op.f("uq_lb_loadbalancers_port")),
        sa.UniqueConstraint(
            "public_domain_server_id", name=op.f("uq_lb_loadbalancers_public_domain_server_id")
        ),
    )
    with op.batch_alter_table("lb_loadbalancers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lb_loadbalancers_project_id"), ["project_id"], unique=False
        )


def _hosts_and_members() -> None:
    op.create_table(
        "lb_hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("lb_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lb_id"], ["lb_loadbalancers.id"],
            name=op.f("fk_lb_hosts_lb_id_lb_loadbalancers"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_lb_hosts")),
    )
    with op.batch_alter_table("lb_hosts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lb_hosts_lb_id"), ["lb_id"], unique=False)
    op.create_table(
        "lb_members",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("lb_id", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("backup", sa.Boolean(), nullable=False),
        sa.Column("admin_state", sa.String(length=32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lb_id"], ["lb_loadbalancers.id"],
            name=op.f("fk_lb_members_lb_id_lb_loadbalancers"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_members")),
        sa.UniqueConstraint("lb_id", "server_id", "port", name="uq_lb_members_target"),
    )
    with op.batch_alter_table("lb_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lb_members_lb_id"), ["lb_id"], unique=False)


def _health_nodes_state() -> None:
    op.create_table(
        "lb_member_health",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reported_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["lb_members.id"],
            name=op.f("fk_lb_member_health_member_id_lb_members"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "node", name=op.f("pk_lb_member_health")),
    )
    op.create_table(
        "lb_nodes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("admin_state", sa.String(length=32), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lb_nodes")),
    )
    op.create_table(
        "lb_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_state")),
    )


def upgrade() -> None:
    _loadbalancers()
    _hosts_and_members()
    _health_nodes_state()


def downgrade() -> None:
    for table in ("lb_state", "lb_nodes", "lb_member_health", "lb_members", "lb_hosts",
                  "lb_loadbalancers"):
        op.drop_table(table)
