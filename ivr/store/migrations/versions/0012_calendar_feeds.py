"""Agents' calendar feeds: the version their secret URL is derived from (raised to rotate it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agent_id", sa.String(32), nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("rotated_by", sa.String(100)),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
