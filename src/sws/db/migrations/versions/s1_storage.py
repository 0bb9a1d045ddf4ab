"""the simulated region's object storage: containers, objects, hourly usage

Revision ID: s1_storage
Revises: cb8eb46f1405
Create Date: 2026-11-21 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sws.db.metadata

revision = "s1_storage"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def _utc() -> sws.db.metadata.UTCDateTime:
    return sws.db.metadata.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sim_containers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("object_count", sa.BigInteger(), nullable=False),
        sa.Column("bytes_used", sa.BigInteger(), nullable=False),
        sa.Column("firewall", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("accrued_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_containers")),
        sa.UniqueConstraint(
            "region", "project_id", "name", name="uq_sim_containers_scope_name"
        ),
    )
    op.create_table(
        "sim_objects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("etag", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(length=16 * 1024 * 1024), nullable=False),
        sa.Column("last_modified", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["container_id"], ["sim_containers.id"],
            name=op.f("fk_sim_objects_container_id_sim_containers"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_objects")),
        sa.UniqueConstraint(
            "container_id", "name_hash", name="uq_sim_objects_container_name"
        ),
    )
    op.create_table(
        "sim_storage_usage",
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("container", sa.String(length=256), nullable=False),
        sa.Column("hour_start", _utc(), nullable=False),
        sa.Column("byte_seconds", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "region", "project_id", "container", "hour_start", name=op.f("pk_sim_storage_usage")
        ),
    )


def downgrade() -> None:
    op.drop_table("sim_storage_usage")
    op.drop_table("sim_objects")
    op.drop_table("sim_containers")
