"""Initial schema: callers, calls, call events, queue entries, callbacks, surveys, tickets, agents.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "callers",
        sa.Column("phone", sa.String(40), primary_key=True),
        sa.Column("language", sa.String(8), nullable=True),
        ts("first_seen_at"),
        ts("last_seen_at"),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(64)),
        sa.Column("from_number", sa.String(40)),
        sa.Column("to_number", sa.String(40)),
        sa.Column("direction", sa.String(32)),
        sa.Column("language", sa.String(8)),
        sa.Column("queue", sa.String(32)),
        ts("started_at"),
        ts("ended_at", True),
        sa.Column("status", sa.String(32)),
        sa.Column("duration_s", sa.Integer),
        sa.Column("voicemail_url", sa.Text),
        sa.Column("voicemail_duration_s", sa.Integer),
    )
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        ts("at"),
        sa.Column("detail", sa.JSON),
        sa.UniqueConstraint("call_sid", "dedupe_key", name="uq_call_events_call_sid_dedupe_key"),
    )
    op.create_index("ix_call_events_call_sid", "call_events", ["call_sid"])
    op.create_index("ix_call_events_at", "call_events", ["at"])
    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("from_number", sa.String(40)),
        ts("entered_at"),
        ts("original_entered_at"),
        ts("ended_at", True),
        sa.Column("result", sa.String(32)),
        sa.Column("wait_s", sa.Float),
        ts("answered_at", True),
        sa.Column("handle_s", sa.Float),
        sa.Column("agent_id", sa.String(32)),
        ts("last_announced_at", True),
        sa.Column("last_estimate_s", sa.Float),
        sa.Column("last_position", sa.Integer),
        sa.UniqueConstraint(
            "call_sid", "queue", "entered_at", name="uq_queue_entries_call_queue_at"
        ),
    )
    op.create_index("ix_queue_entries_call_sid", "queue_entries", ["call_sid"])
    op.create_index("ix_queue_entries_queue_entered", "queue_entries", ["queue", "entered_at"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        ts("original_entered_at"),
        ts("requested_at"),
        ts("due_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        ts("last_attempt_at", True),
        sa.Column("outcome", sa.String(32)),
        sa.Column("dial_call_sid", sa.String(64)),
        sa.Column("agent_id", sa.String(32)),
    )
    op.create_index("ix_callbacks_status_due", "callbacks", ["status", "due_at"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("queue", sa.String(32)),
        sa.Column("language", sa.String(8)),
        sa.Column("score", sa.Integer),
        sa.Column("comment_url", sa.Text),
        ts("created_at"),
    )
    op.create_table(
        "complaint_tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("call_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("from_number", sa.String(40)),
        sa.Column("language", sa.String(8)),
        ts("created_at"),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(120)),
        sa.Column("pin_hash", sa.String(255)),
        sa.Column("state", sa.String(16), nullable=False),
        ts("state_since", True),
        sa.Column("current_call_sid", sa.String(64)),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.String(32), sa.ForeignKey("agents.agent_id"), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=False, unique=True),
        ts("logged_in_at"),
        ts("logged_out_at", True),
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])


def downgrade() -> None:
    for table in (
        "agent_sessions",
        "agents",
        "complaint_tickets",
        "surveys",
        "callbacks",
        "queue_entries",
        "call_events",
        "calls",
        "callers",
    ):
        op.drop_table(table)
