"""Document tables: issued documents and each issuer's number counters."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from sws.db.metadata import UTCDateTime, metadata, money_column_type

ID = 64
KEY = 255

#: One row per (issuer, series): the last number handed out. Taken with the document's own
#: transaction's write lock, so a rolled-back document gives its number back.
billing_document_counters = Table(
    "billing_document_counters",
    metadata,
    Column("issuer", String(64), primary_key=True),
    Column("series", String(16), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

#: Receipts, invoices and credit notes; one per source (a payment, a closed bill, a refund).
billing_documents = Table(
    "billing_documents",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("source_key", String(KEY), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("total", money_column_type(), nullable=False),
    Column("tax", money_column_type(), nullable=False),
    Column("tax_rate", money_column_type(), nullable=False),
    Column("body", Text, nullable=False),  # JSON: seller, buyer, lines, period, reference
    Column("issued_at", UTCDateTime(), nullable=False),
    UniqueConstraint("issuer", "kind", "number"),
    Index("ix_billing_documents_account", "account_id", "issued_at"),
)
