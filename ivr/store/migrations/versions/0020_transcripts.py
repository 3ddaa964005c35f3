"""Transcripts of voicemails and survey comments, where Twilio gives one.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("voicemail_transcript", sa.Text))
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("comment_transcript", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("comment_transcript")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("voicemail_transcript")
