"""Persistence plumbing: engine, metadata, column types and Alembic migrations."""
