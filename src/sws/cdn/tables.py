"""Tables of the CDN: distributions, host names, purge jobs per edge, edges, the version,
signing keys and tenants' certificates."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata

ID = 64
WORD = 32

cdn_distributions = Table(
    "cdn_distributions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), nullable=False, index=True),
    Column("region", String(ID), nullable=False),
    Column("name", String(255), nullable=False),
    Column("origin_kind", String(WORD), nullable=False),  # container | loadbalancer
    Column("origin_ref", String(255), nullable=False),
    # Where the edges fetch misses, resolved when the origin was chosen.
    Column("backend_host", String(255), nullable=False),
    Column("backend_port", Integer, nullable=False),
    Column("backend_host_header", String(255), nullable=False),
    Column("backend_path_prefix", String(1024), nullable=False),
    Column("default_ttl", Integer, nullable=False),
    Column("honour_origin", Boolean, nullable=False),
    Column("query_in_key", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    # Comma-separated, in sws.cdn.model.METHODS' order: the methods the edges let through.
    Column("allowed_methods", String(64), nullable=False, server_default="GET,HEAD"),
    # Why SWS (not the tenant) disabled it: origin_deleted; None while the tenant decides.
    Column("disabled_reason", String(WORD), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Every name an edge answers for a distribution; unique cloud-wide. A custom domain is served
#: once verified (its TXT proof was found).
cdn_hosts = Table(
    "cdn_hosts",
    metadata,
    Column("host", String(255), primary_key=True),
    Column(
        "distribution_id", String(ID),
        ForeignKey("cdn_distributions.id", ondelete="CASCADE"), nullable=False, index=True,
    ),
    Column("kind", String(WORD), nullable=False),  # auto | custom
    Column("created_at", UTCDateTime(), nullable=False),
)

cdn_purges = Table(
    "cdn_purges",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), nullable=False),
    Column(
        "distribution_id", String(ID),
        ForeignKey("cdn_distributions.id", ondelete="CASCADE"), nullable=False, index=True,
    ),
    Column("kind", String(WORD), nullable=False),  # url | prefix | key | all
    Column("value", String(1024), nullable=False),
    Column("mode", String(WORD), nullable=False),  # soft | hard
    Column("idempotency_key", String(255), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("project_id", "idempotency_key", name="uq_cdn_purges_idempotency"),
)

#: One row per (purge, edge): the edges the purge was addressed to, and how each one did.
cdn_purge_edges = Table(
    "cdn_purge_edges",
    metadata,
    Column(
        "purge_id", String(ID), ForeignKey("cdn_purges.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("edge", String(ID), primary_key=True),
    Column("state", String(WORD), nullable=False),  # pending | done | failed
    Column("finished_at", UTCDateTime(), nullable=True),
)

cdn_edges = Table(
    "cdn_edges",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("last_seen_at", UTCDateTime(), nullable=True),
    Column("applied_digest", String(ID), nullable=True),
)

#: One row: bumped by every change an edge must act on (a distribution or a purge), so the
#: edges' long poll returns at once.
cdn_state = Table(
    "cdn_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

#: A distribution's signed-URL mode and its HMAC keys: the current one signs, the previous one
#: (kept after a rotation) still verifies, so links signed before a rotation keep working.
cdn_signing = Table(
    "cdn_signing",
    metadata,
    Column(
        "distribution_id", String(ID), ForeignKey("cdn_distributions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("enabled", Boolean, nullable=False),
    Column("current_key", String(ID), nullable=False),
    Column("previous_key", String(ID), nullable=True),
    Column("rotated_at", UTCDateTime(), nullable=False),
)

#: A tenant's certificate for one of its verified custom domains. The key is only ever given
#: to the edges, never shown back.
cdn_certificates = Table(
    "cdn_certificates",
    metadata,
    Column("host", String(255), primary_key=True),
    Column(
        "distribution_id", String(ID), ForeignKey("cdn_distributions.id", ondelete="CASCADE"),
        nullable=False, index=True,
    ),
    Column("chain", Text, nullable=False),
    Column("private_key", Text, nullable=False),
    Column("fingerprint", String(ID), nullable=False),  # sha256 of the leaf, hex
    Column("not_after", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
