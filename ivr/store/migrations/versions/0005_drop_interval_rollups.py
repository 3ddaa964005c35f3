"""Drop ``interval_rollups``: nothing read it (the dashboard computes intervals from the log).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("interval_rollups")


def downgrade() -> None:
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
