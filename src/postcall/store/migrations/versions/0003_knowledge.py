"""The knowledge index in PostgreSQL: passages with a generated tsvector (GIN), term counts, meta.

Only where `Dialect.knowledge_in_database` (PostgreSQL); SQLite keeps the index in an FTS5 file
beside the database, so this revision changes nothing there.  store/knowledge.py reads and
writes these tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from postcall.store.dialects import dialect_named
from postcall.store.knowledge import TS_CONFIG

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _applies() -> bool:
    return dialect_named(op.get_bind().dialect.name).knowledge_in_database


def upgrade() -> None:
    if not _applies():
        return
    op.create_table(
        "knowledge_passages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR, sa.Computed(f"to_tsvector('{TS_CONFIG}', text)", persisted=True)),
    )
    op.create_index("ix_knowledge_passages_tsv", "knowledge_passages", ["tsv"], postgresql_using="gin")
    op.create_index("ix_knowledge_passages_source", "knowledge_passages", ["source"])
    op.create_table(
        "knowledge_terms",
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_table(
        "knowledge_meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:  # forward-only in practice; kept for Alembic's tooling
    if not _applies():
        return
    op.drop_table("knowledge_meta")
    op.drop_table("knowledge_terms")
    op.drop_table("knowledge_passages")
