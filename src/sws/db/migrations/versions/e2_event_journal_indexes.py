"""events: drop the journal's project_id and occurred_at indexes, which no query reads (issue 17)

Revision ID: e2_event_journal_indexes
Revises: e1_event_time_source
Create Date: 2026-12-06 20:45:00.000000

Every read of `resource_events` goes by its id (billing's and the lag monitor's cursors), by
resource (`ix_resource_events_resource`: a resource's history, billing's re-rating) or by
message_id; none by project or by time alone. Each index cost every journalled event a b-tree
insert: ~1.5 µs of PostgreSQL CPU per notification of the ~7 µs the journal write costs.
"""

from __future__ import annotations

from alembic import op

revision = "e2_event_journal_indexes"
down_revision = "e1_event_time_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_events_project_id")
        batch_op.drop_index("ix_resource_events_occurred_at")


def downgrade() -> None:
    with op.batch_alter_table("resource_events", schema=None) as batch_op:
        batch_op.create_index("ix_resource_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_resource_events_project_id", ["project_id"], unique=False)
