"""The mail outbox: one row per event's mail, enqueued in the event's transaction."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

from sws.db.metadata import UTCDateTime, metadata

KEY = 191  # fits a unique index on MariaDB's utf8mb4
_LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql")  # attachments in base64

#: `key` names the event (e.g. "signup-verify:<id>:<n>"): unique, so an event mails once.
#: A row is due while `sent_at` and `failed_at` are empty and `due_at` has come; a claim
#: moves `due_at` past the send so a crashed sender's row comes back by itself.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(KEY), nullable=False, unique=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("payload", _LONG_TEXT, nullable=False),  # the Mail as JSON
    Column("created_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("failed_at", UTCDateTime(), nullable=True),  # gave up after the last attempt
)
