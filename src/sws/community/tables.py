"""Community tables: one row per free instance (its lease, the steps done, its flags), and one
per project and free region whose quota SWS set to the free tier's."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table

from sws.db.metadata import UTCDateTime, metadata

community_instances = Table(
    "community_instances",
    metadata,
    Column("server_id", String(64), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("renewals", Integer, nullable=False),
    Column("warned_at", UTCDateTime(), nullable=True),
    Column("shelved_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    # Idle reclamation: flagged since, then shelved (with a mail) a day later if still idle.
    Column("idle_since", UTCDateTime(), nullable=True),
    Column("idle_shelved_at", UTCDateTime(), nullable=True),
    # The mining heuristic: shown to the operator, never acted on alone.
    Column("mining_since", UTCDateTime(), nullable=True),
    Column("mining_cpu", Float, nullable=True),
    Index("ix_community_instances_project_id", "project_id"),
    Index("ix_community_instances_expires_at", "expires_at"),
)

# The free tier's quota as SWS last set it on a project in a free region (docs/community.md).
community_quotas = Table(
    "community_quotas",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("region", String(64), primary_key=True),
    Column("quota", String(255), nullable=False),  # "instances=2,cores=2,...", as set
    Column("set_at", UTCDateTime(), nullable=False),
)
