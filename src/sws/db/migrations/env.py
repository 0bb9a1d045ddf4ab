"""Alembic environment: runs SWS migrations on the connection `sws.db.migrate` hands in."""

from __future__ import annotations

from alembic import context

from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables

load_all_tables()
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
