"""The simulated region's object storage in SQLAlchemy Core tables (`sim_` prefix).

Object bodies live in the database: the simulated store is for a laptop and for the console's
small-file management, so objects are capped (`objectstore.MAX_OBJECT_BYTES`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata

sim_containers = Table(
    "sim_containers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("object_count", BigInteger, nullable=False),
    Column("bytes_used", BigInteger, nullable=False),
    # The firewall as its container-sysmeta field values (JSON list), exactly what Swift keeps.
    Column("firewall", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Stored bytes have been integrated into sim_storage_usage up to this whole second.
    Column("accrued_at", UTCDateTime(), nullable=False),
    UniqueConstraint("region", "project_id", "name", name="uq_sim_containers_scope_name"),
)

sim_objects = Table(
    "sim_objects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "container_id", Integer, ForeignKey("sim_containers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name_hash", String(64), nullable=False),  # sha256 of the name: names reach 1024 B
    Column("name", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("etag", String(32), nullable=False),
    Column("data", LargeBinary(16 * 1024 * 1024), nullable=False),
    Column("last_modified", UTCDateTime(), nullable=False),
    UniqueConstraint("container_id", "name_hash", name="uq_sim_objects_container_name"),
)

sim_storage_usage = Table(
    "sim_storage_usage",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("project_id", String(64), primary_key=True),
    Column("container", String(256), primary_key=True),
    Column("hour_start", UTCDateTime(), primary_key=True),
    Column("byte_seconds", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("bytes_out", BigInteger, nullable=False),
    Column("bytes_in", BigInteger, nullable=False),
)
