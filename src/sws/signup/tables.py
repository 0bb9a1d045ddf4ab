"""Sign-up tables: sign-ups (one per normalised e-mail, ever), reset codes, abuse counters."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from sws.db.metadata import UTCDateTime, metadata

#: One row per person (`email_key` unique): a second sign-up with the same key updates or
#: answers from this row, so one address can never open two tenants. Codes are stored as
#: SHA-256; `token_hash` stays after use so a replayed link is recognised as used.
signups = Table(
    "signups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False, unique=True),
    Column("tenant_name", String(64), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("token_expires_at", UTCDateTime(), nullable=True),
    Column("sends", Integer, nullable=False, default=0),
    Column("address", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("tenant_id", String(36), nullable=True),
    Column("user_id", String(36), nullable=True),
)

#: Password-reset codes (SHA-256), single-use and expiring; a new request voids older ones.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

#: Hits counted by the front door's rate limits when no Redis is configured; keyed by a
#: SHA-256 of (limit, subject), each key's rows older than its window are deleted on a hit.
abuse_hits = Table(
    "abuse_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, index=True),
    Column("hit_at", UTCDateTime(), nullable=False),
)
