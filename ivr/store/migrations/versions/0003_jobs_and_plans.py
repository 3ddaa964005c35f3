"""Scheduled jobs' runs, interval roll-ups, and drafted plans for supervisors.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("job", "scheduled_for", "attempt", name="uq_job_runs_job_fire_attempt"),
    )
    op.create_index("ix_job_runs_job_started", "job_runs", ["job", "started_at"])
    op.create_table(
        "interval_rollups",
        sa.Column("queue", sa.String(32), primary_key=True),
        sa.Column("interval_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("offered", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("abandoned", sa.Integer, nullable=False),
        sa.Column("short_abandoned", sa.Integer, nullable=False),
        sa.Column("service_level", sa.Float),
        sa.Column("asa_s", sa.Float),
        sa.Column("aht_s", sa.Float),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "plan_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.JSON),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("published_by", sa.String(100)),
    )
    op.create_index("ix_plan_drafts_kind_week", "plan_drafts", ["kind", "week_start"])


def downgrade() -> None:
    op.drop_table("plan_drafts")
    op.drop_table("interval_rollups")
    op.drop_table("job_runs")
