"""Retention: a callback that is over may lose its number (``scheduler.keep_numbers_days``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("phone", existing_type=sa.String(40), nullable=True)


def downgrade() -> None:
    # a removed number cannot come back: it becomes the empty string, which no rule calls
    op.execute("UPDATE callbacks SET phone = '' WHERE phone IS NULL")
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("phone", existing_type=sa.String(40), nullable=False)
