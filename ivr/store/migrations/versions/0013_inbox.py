"""The supervisors' inbox: who dealt with a voicemail or a survey comment, and when.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("voicemail_handled_by", sa.String(100)))
        batch.add_column(sa.Column("voicemail_handled_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("comment_handled_by", sa.String(100)))
        batch.add_column(sa.Column("comment_handled_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("comment_handled_at")
        batch.drop_column("comment_handled_by")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("voicemail_handled_at")
        batch.drop_column("voicemail_handled_by")
