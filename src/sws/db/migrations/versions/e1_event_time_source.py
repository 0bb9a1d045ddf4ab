"""events: record where each journalled event's occurred_at came from (issue 22)

Revision ID: e1_event_time_source
Revises: cb8eb46f1405
Create Date: 2026-12-06 06:30:00.000000

`time_source` is the payload field (`launched_at`, `terminated_at`, `updated_at`, ...) or
`notification` when the message's timestamp served; rows journalled before stay NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1_event_time_source"
down_revision = "cb8eb46f1405"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_source", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.drop_column("time_source")
