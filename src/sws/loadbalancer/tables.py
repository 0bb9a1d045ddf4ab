"""Tables of load balancers: LBs, host names, members, member health, nodes, version, traffic."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata

ID = 64
WORD = 32

lb_loadbalancers = Table(
    "lb_loadbalancers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("project_id", String(ID), nullable=False, index=True),
    Column("region", String(ID), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(WORD), nullable=False),
    Column("algorithm", String(WORD), nullable=False),
    # The shared L4 port (tcp only); unique, so two LBs can never hold the same port.
    Column("port", Integer, nullable=True, unique=True),
    Column("monitor_type", String(WORD), nullable=False),
    Column("monitor_interval_ms", Integer, nullable=False),
    Column("monitor_timeout_ms", Integer, nullable=False),
    Column("monitor_rise", Integer, nullable=False),
    Column("monitor_fall", Integer, nullable=False),
    Column("monitor_http_path", String(255), nullable=False),
    Column("monitor_expected_codes", String(WORD), nullable=False),
    # Set for an instance's public domain (a one-member L4 LB); one per instance.
    Column("public_domain_server_id", String(ID), nullable=True, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Every host name routed to an LB: its automatic name and the tenant's own; unique cloud-wide.
lb_hosts = Table(
    "lb_hosts",
    metadata,
    Column("host", String(255), primary_key=True),
    Column(
        "lb_id", String(ID), ForeignKey("lb_loadbalancers.id", ondelete="CASCADE"),
        nullable=False, index=True,
    ),
    Column("kind", String(WORD), nullable=False),  # auto | custom
    Column("created_at", UTCDateTime(), nullable=False),
)

lb_members = Table(
    "lb_members",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "lb_id", String(ID), ForeignKey("lb_loadbalancers.id", ondelete="CASCADE"),
        nullable=False, index=True,
    ),
    Column("server_id", String(ID), nullable=False),
    Column("address", String(ID), nullable=False),
    Column("port", Integer, nullable=False),
    Column("weight", Integer, nullable=False),
    Column("backup", Boolean, nullable=False),
    Column("admin_state", String(WORD), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("lb_id", "server_id", "port", name="uq_lb_members_target"),
)

#: What each node last saw of each member (up, down, maint).
lb_member_health = Table(
    "lb_member_health",
    metadata,
    Column(
        "member_id", String(ID), ForeignKey("lb_members.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("node", String(ID), primary_key=True),
    Column("status", String(WORD), nullable=False),
    Column("reported_at", UTCDateTime(), nullable=False),
)

#: LB nodes: the operator's admin state and the last heartbeat (a report from the agent).
lb_nodes = Table(
    "lb_nodes",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("admin_state", String(WORD), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=True),
    Column("applied_version", Integer, nullable=True),
)

#: One row: the configuration version, bumped in the same transaction as every change.
lb_state = Table(
    "lb_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

#: Outbound bytes (HAProxy `bout`, backend to clients) per LB per clock hour, summed over the
#: nodes' reports; billing's bandwidth item rates it. No foreign key: the bytes of an LB
#: deleted mid-hour are still billed, so project and region are kept on the row.
lb_traffic = Table(
    "lb_traffic",
    metadata,
    Column("lb_id", String(ID), primary_key=True),
    Column("hour_start", UTCDateTime(), primary_key=True),
    Column("project_id", String(ID), nullable=False, index=True),
    Column("region", String(ID), nullable=False),
    Column("bytes_out", BigInteger, nullable=False),
)
