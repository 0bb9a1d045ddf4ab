"""Sponsor region table: a region added at run time, or a configured one the admin edited."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, String, Table

from sws.db.metadata import UTCDateTime, metadata

sponsor_regions = Table(
    "sponsor_regions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("sponsor_name", String(100), nullable=True),  # null: no sponsor (the operator's own)
    Column("logo_text", String(32), nullable=False, default=""),
    Column("contact", String(255), nullable=False, default=""),
    Column("driver", String(16), nullable=False),
    Column("cloud", String(64), nullable=True),
    Column("catalog_region", String(64), nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
