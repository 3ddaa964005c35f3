"""Agent states and routing: the state log, the reason and current offer on each agent, the
session's channel, and the dispatcher's pairing on each queue entry. ``idle`` becomes
``available``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_sid", sa.String(64)),
    )
    op.create_index("ix_agent_state_changes_agent_at", "agent_state_changes", ["agent_id", "at"])
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("state_reason", sa.String(32)))
        batch.add_column(sa.Column("offer", sa.String(40)))
    with op.batch_alter_table("agent_sessions") as batch:
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="phone"))
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("offered_to", sa.String(32)))
        batch.add_column(sa.Column("offered_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("answered_in_language", sa.Boolean))
    op.execute("UPDATE agents SET state = 'available' WHERE state = 'idle'")


def downgrade() -> None:
    op.execute("UPDATE agents SET state = 'idle' WHERE state = 'available'")
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("answered_in_language")
        batch.drop_column("offered_at")
        batch.drop_column("offered_to")
    with op.batch_alter_table("agent_sessions") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("offer")
        batch.drop_column("state_reason")
    op.drop_index("ix_agent_state_changes_agent_at", "agent_state_changes")
    op.drop_table("agent_state_changes")
