"""Retention: `conversations.purged` names the kinds of a call's data already purged.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("purged", sa.String(100), nullable=True))
    op.create_index("ix_conversations_status_ended", "conversations", ["status", "ended_at"])


def downgrade() -> None:  # forward-only in practice; kept for Alembic's tooling
    op.drop_index("ix_conversations_status_ended", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("purged")
