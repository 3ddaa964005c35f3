"""Complaint tickets: status workflow, assignee and notes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint_tickets") as batch:
        batch.add_column(sa.Column("assignee", sa.String(100)))
    op.create_index(
        "ix_complaint_tickets_status_created", "complaint_tickets", ["status", "created_at"]
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("complaint_tickets.id"), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_ticket_notes_ticket_id", "ticket_notes", ["ticket_id"])
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("complaint_tickets.id"), nullable=False),
        sa.Column("old_status", sa.String(16), nullable=False),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee", sa.String(100)),
        sa.Column("queue", sa.String(32)),
        sa.Column("post_state", sa.String(16)),
        sa.Column("post_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempted_at", sa.DateTime(timezone=True)),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("post_error", sa.Text),
    )
    op.create_index("ix_ticket_status_changes_ticket_id", "ticket_status_changes", ["ticket_id"])
    op.create_index("ix_ticket_status_changes_post_state", "ticket_status_changes", ["post_state"])


def downgrade() -> None:
    op.drop_index("ix_ticket_status_changes_post_state", "ticket_status_changes")
    op.drop_index("ix_ticket_status_changes_ticket_id", "ticket_status_changes")
    op.drop_table("ticket_status_changes")
    op.drop_index("ix_ticket_notes_ticket_id", "ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_index("ix_complaint_tickets_status_created", "complaint_tickets")
    with op.batch_alter_table("complaint_tickets") as batch:
        batch.drop_column("assignee")
