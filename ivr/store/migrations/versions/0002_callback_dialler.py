"""Callbacks say who dials them: an agent's leg (queue callbacks) or the system (booked ones).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(
            sa.Column("dial_by", sa.String(8), nullable=False, server_default="system")
        )


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("dial_by")
