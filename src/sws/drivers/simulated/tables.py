"""The simulated region's state in SQLAlchemy Core tables: a restarted `sws up` keeps its cloud."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sws.db.metadata import UTCDateTime, metadata

ID = 36  # a UUID in its canonical text form

sim_hypervisors = Table(
    "sim_hypervisors",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("vcpus", Integer, nullable=False),
    Column("ram_mb", Integer, nullable=False),
    Column("disk_gb", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("region", "hostname", name="uq_sim_hypervisors_region_hostname"),
)

sim_images = Table(
    "sim_images",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("min_disk_gb", Integer, nullable=False),
    Column("min_ram_mb", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("owner_project_id", String(64), nullable=True),
    Column("image_type", String(16), nullable=False),
    Column("source_server_id", String(ID), nullable=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_sim_images_region_owner", "region", "owner_project_id"),
)

sim_keypairs = Table(
    "sim_keypairs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("key_type", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("region", "project_id", "name", name="uq_sim_keypairs_region_project_name"),
)

sim_security_groups = Table(
    "sim_security_groups",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("region", "project_id", "name", name="uq_sim_security_groups_scope_name"),
)

sim_security_group_rules = Table(
    "sim_security_group_rules",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "security_group_id",
        String(ID),
        ForeignKey("sim_security_groups.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("direction", String(8), nullable=False),
    Column("ethertype", String(8), nullable=False),
    Column("protocol", String(16), nullable=True),
    Column("port_range_min", Integer, nullable=True),
    Column("port_range_max", Integer, nullable=True),
    Column("remote_ip_prefix", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

sim_servers = Table(
    "sim_servers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("flavor_id", String(64), nullable=False),
    Column("image_id", String(ID), nullable=False),
    Column("key_name", String(255), nullable=True),
    Column("security_groups", Text, nullable=False),  # JSON list of group names
    Column("vm_state", String(32), nullable=False),
    Column("task_state", String(32), nullable=True),
    Column("power_state", String(16), nullable=False),
    Column("host", String(255), nullable=True),
    Column("source_host", String(255), nullable=True),  # while a resize awaits confirm/revert
    Column("old_flavor_id", String(64), nullable=True),
    Column("fixed_ip", String(64), nullable=False),
    Column("mac", String(32), nullable=False),
    Column("reservation_id", String(32), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("fault", Text, nullable=True),
    Column("task_due_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("launched_at", UTCDateTime(), nullable=True),
    Column("terminated_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    UniqueConstraint("region", "number", name="uq_sim_servers_region_number"),
    Index("ix_sim_servers_region_task_due_at", "region", "task_due_at"),
    Index("ix_sim_servers_region_project_state", "region", "project_id", "vm_state"),
    Index("ix_sim_servers_region_state_host", "region", "vm_state", "host"),
)

sim_floating_ips = Table(
    "sim_floating_ips",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("server_id", String(ID), nullable=True, index=True),
    Column("fixed_ip", String(64), nullable=True),
    Column("revision_number", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("region", "address", name="uq_sim_floating_ips_region_address"),
    Index("ix_sim_floating_ips_region_project", "region", "project_id"),
)


# A project's quota where an admin (or an approved quota request) set one; else the region's.
sim_quotas = Table(
    "sim_quotas",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("project_id", String(64), primary_key=True),
    Column("instances", Integer, nullable=False),
    Column("cores", Integer, nullable=False),
    Column("ram_mb", Integer, nullable=False),
    Column("floating_ips", Integer, nullable=False),
    Column("security_groups", Integer, nullable=False),
    Column("key_pairs", Integer, nullable=False),
)
