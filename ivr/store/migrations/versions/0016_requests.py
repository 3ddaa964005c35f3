"""Agents' requests: time off and shift preferences, approved or refused.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("shift_start", sa.String(5)),
        sa.Column("note", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(100), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.Text),
    )
    op.create_index(
        "ix_agent_requests_status_dates", "agent_requests", ["status", "start_date", "end_date"]
    )
    op.create_index("ix_agent_requests_agent_start", "agent_requests", ["agent_id", "start_date"])


def downgrade() -> None:
    op.drop_index("ix_agent_requests_agent_start", table_name="agent_requests")
    op.drop_index("ix_agent_requests_status_dates", table_name="agent_requests")
    op.drop_table("agent_requests")
