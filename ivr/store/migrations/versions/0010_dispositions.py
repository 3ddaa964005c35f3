"""What an agent records about a call on the desktop: a disposition code and a note.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("disposition", sa.String(32)))
        batch.add_column(sa.Column("agent_note", sa.Text))
        batch.add_column(sa.Column("disposition_by", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("disposition_by")
        batch.drop_column("agent_note")
        batch.drop_column("disposition")
