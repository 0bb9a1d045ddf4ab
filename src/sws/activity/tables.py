"""The activity domain's one table: how far each user has read the notices of each tenant."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from sws.db.metadata import UTCDateTime, metadata

ID = 64

#: A user's "read up to" time per tenant (a user may act in several tenants); the bell counts
#: the notices after it.
notice_marks = Table(
    "notice_marks",
    metadata,
    Column("user_id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), primary_key=True),
    Column("read_until", UTCDateTime(), nullable=False),
)
