"""The resource tags table: one row per (tenant, region, kind, resource, key)."""

from __future__ import annotations

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table

from sws.db.metadata import UTCDateTime, metadata

resource_tags = Table(
    "resource_tags",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    # "" for a bare key ("web"); the grammar forbids "key=" so "" is unambiguous.
    Column("value", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "region", "kind", "resource_id", "key"),
    Index("ix_resource_tags_filter", "tenant_id", "region", "kind", "key", "value"),
)
