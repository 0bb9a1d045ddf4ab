"""Tables of CDN traffic: bytes and requests per distribution, ISP view and hour; how far each
edge's access log was counted."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from sws.cdn.tables import ID
from sws.db.metadata import UTCDateTime, metadata

#: Traffic the edges served, per distribution, ISP view (of the client's address; "" for none)
#: and clock hour, summed over the edges' reports; billing's CDN item rates its bytes. No
#: foreign key: the traffic of a distribution deleted mid-hour is still billed.
cdn_traffic = Table(
    "cdn_traffic",
    metadata,
    Column("distribution_id", String(ID), primary_key=True),
    Column("hour_start", UTCDateTime(), primary_key=True),
    Column("isp", String(ID), primary_key=True),
    Column("project_id", String(ID), nullable=False, index=True),
    Column("region", String(ID), nullable=False),
    Column("hit_requests", BigInteger, nullable=False),
    Column("miss_requests", BigInteger, nullable=False),
    Column("hit_bytes", BigInteger, nullable=False),
    Column("miss_bytes", BigInteger, nullable=False),
)

#: How far each edge's access log (a stream) has been counted: a report is a byte window of
#: it, so a replayed window (an agent that restarted before it heard the answer) counts once.
cdn_traffic_streams = Table(
    "cdn_traffic_streams",
    metadata,
    Column("edge", String(ID), primary_key=True),
    Column("stream", String(ID), primary_key=True),
    Column("counted_to", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
