"""Tables of the SWS filter: internal networks, allow rules, Cloud Bridge, agent reports.

Changes are audited in the shared `audit_log` (sws.audit), in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, UniqueConstraint

from sws.db.metadata import UTCDateTime, metadata

ID = 64
CIDR = 64
TEXT = 255
WORD = 16

internal_networks = Table(
    "netfilter_internal_networks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("cidr", String(CIDR), nullable=False, unique=True),
    Column("description", String(TEXT), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: What VMs may open into the intranet; `instance_tenant_id` is the owner of an instance rule.
allow_rules = Table(
    "netfilter_allow_rules",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("scope", String(WORD), nullable=False),
    Column("tenant_id", String(ID), nullable=True, index=True),
    Column("instance_id", String(ID), nullable=True, index=True),
    Column("instance_tenant_id", String(ID), nullable=True),
    Column("destination", String(CIDR), nullable=False),
    Column("protocol", String(WORD), nullable=False),
    Column("port_min", Integer, nullable=True),
    Column("port_max", Integer, nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("reason", String(TEXT), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

bridge_sources = Table(
    "netfilter_bridge_sources",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("cidr", String(CIDR), nullable=False, unique=True),
    Column("description", String(TEXT), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

bridge_grants = Table(
    "netfilter_bridge_grants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), nullable=False, index=True),
    Column("instance_id", String(ID), nullable=False),
    Column("port", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("instance_id", "port", name="uq_netfilter_bridge_grants_instance_port"),
)

#: The last report of each host's agent: what it applied, whether it verified, any drift.
agent_reports = Table(
    "netfilter_agent_reports",
    metadata,
    Column("host", String(TEXT), primary_key=True),
    Column("target", String(WORD), nullable=False),
    Column("digest", String(ID), nullable=False),
    Column("expected_digest", String(ID), nullable=True),
    Column("in_sync", Boolean, nullable=False),
    Column("elements", Integer, nullable=False),
    Column("drift", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("mode", String(WORD), nullable=False),
    Column("apply_seconds", String(WORD), nullable=True),
    Column("reported_at", UTCDateTime(), nullable=False),
)
