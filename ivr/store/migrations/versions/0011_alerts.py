"""Alerts: each stretch of time a condition holds, and when it was posted to the webhooks.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_alerts_key_cleared", "alerts", ["key", "cleared_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_key_cleared", "alerts")
    op.drop_table("alerts")
