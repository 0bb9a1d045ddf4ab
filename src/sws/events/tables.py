"""Tables of the events domain: idempotency guard, dead letters, event journal, resource states."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

from sws.db.metadata import UTCDateTime, metadata

ID = 128  # message ids (uuid, or "sha256:<hex>")
TEXT = 255  # ids, names, states, addresses: translate.MAX_TEXT
WORD = 32  # resource types, actions, outcomes

_LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")

#: Every message_id handled (accepted or ignored): a re-delivery is recognised and skipped.
processed_messages = Table(
    "processed_messages",
    metadata,
    Column("message_id", String(ID), primary_key=True),
    Column("outcome", String(WORD), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

#: Notifications that could not be understood, with the reason; never silently dropped.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("raw", _LONG_TEXT, nullable=False),
    Column("source", String(TEXT), nullable=False),
)

#: The journal of applied ResourceEvents, one per message_id. Read by id (billing's and the lag
#: monitor's cursors) and by resource; no index on project or time alone, which no query reads
#: and every insert would pay for.
resource_events = Table(
    "resource_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(ID), nullable=False, unique=True),
    Column("event_type", String(TEXT), nullable=False),
    Column("resource_type", String(WORD), nullable=False),
    Column("resource_id", String(TEXT), nullable=False),
    Column("project_id", String(TEXT), nullable=True),
    Column("region", String(TEXT), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("action", String(WORD), nullable=False),
    Column("state", String(TEXT), nullable=True),
    Column("name", String(TEXT), nullable=True),
    Column("flavor_id", String(TEXT), nullable=True),
    Column("flavor_name", String(TEXT), nullable=True),
    Column("vcpus", Integer, nullable=True),
    Column("memory_mb", Integer, nullable=True),
    Column("root_gb", Integer, nullable=True),
    Column("address", String(TEXT), nullable=True),
    Column("port_id", String(TEXT), nullable=True),
    Column("launched_at", UTCDateTime(), nullable=True),
    Column("terminated_at", UTCDateTime(), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("time_source", String(WORD), nullable=True),
    Index("ix_resource_events_resource", "resource_type", "resource_id", "occurred_at"),
)

#: The current state of every resource: the fold of all its events (see events.model).
resources = Table(
    "resources",
    metadata,
    Column("resource_type", String(WORD), primary_key=True),
    Column("resource_id", String(TEXT), primary_key=True),
    Column("project_id", String(TEXT), nullable=True, index=True),
    Column("region", String(TEXT), nullable=True),
    Column("name", String(TEXT), nullable=True),
    Column("state", String(TEXT), nullable=True),
    Column("flavor_id", String(TEXT), nullable=True),
    Column("flavor_name", String(TEXT), nullable=True),
    Column("vcpus", Integer, nullable=True),
    Column("memory_mb", Integer, nullable=True),
    Column("root_gb", Integer, nullable=True),
    Column("address", String(TEXT), nullable=True),
    Column("port_id", String(TEXT), nullable=True),
    Column("created_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Column("end_action", String(WORD), nullable=True),
    Column("last_action", String(WORD), nullable=False),
    Column("last_occurred_at", UTCDateTime(), nullable=False),
    Column("last_message_id", String(ID), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_resources_resource_id", "resource_id"),
)
