"""cdn: distributions, host names, purge jobs and their edges, edges, configuration version

Revision ID: d1_cdn
Revises: cb8eb46f1405
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "d1_cdn"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def _distributions() -> None:
    op.create_table(
        "cdn_distributions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("origin_kind", sa.String(length=32), nullable=False),
        sa.Column("origin_ref", sa.String(length=255), nullable=False),
        sa.Column("backend_host", sa.String(length=255), nullable=False),
        sa.Column("backend_port", sa.Integer(), nullable=False),
        sa.Column("backend_host_header", sa.String(length=255), nullable=False),
        sa.Column("backend_path_prefix", sa.String(length=1024), nullable=False),
        sa.Column("default_ttl", sa.Integer(), nullable=False),
        sa.Column("honour_origin", sa.Boolean(), nullable=False),
        sa.Column("query_in_key", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cdn_distributions_project_id", "cdn_distributions", ["project_id"])
    op.create_table(
        "cdn_hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("distribution_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["distribution_id"], ["cdn_distributions.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_index("ix_cdn_hosts_distribution_id", "cdn_hosts", ["distribution_id"])


def _purges_edges_state() -> None:
    op.create_table(
        "cdn_purges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("distribution_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["distribution_id"], ["cdn_distributions.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "idempotency_key", name="uq_cdn_purges_idempotency"),
    )
    op.create_index("ix_cdn_purges_distribution_id", "cdn_purges", ["distribution_id"])
    op.create_table(
        "cdn_purge_edges",
        sa.Column("purge_id", sa.String(length=64), nullable=False),
        sa.Column("edge", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["purge_id"], ["cdn_purges.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("purge_id", "edge"),
    )
    op.create_table(
        "cdn_edges",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=True),
        sa.Column("applied_digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "cdn_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade() -> None:
    _distributions()
    _purges_edges_state()


def downgrade() -> None:
    for table in ("cdn_state", "cdn_edges", "cdn_purge_edges", "cdn_purges", "cdn_hosts",
                  "cdn_distributions"):
        op.drop_table(table)
