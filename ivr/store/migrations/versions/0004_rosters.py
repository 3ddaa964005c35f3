"""Roster assignments (draft or published) per week.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("week_start", sa.Date, nullable=False),
        sa.Column("agent_id", sa.String(32), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("break_start", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.UniqueConstraint(
            "week_start", "status", "agent_id", "date", name="uq_roster_week_status_agent_date"
        ),
    )
    op.create_index("ix_roster_assignments_shift", "roster_assignments", ["status", "shift_start"])


def downgrade() -> None:
    op.drop_table("roster_assignments")
