"""Initial store schema: conversations, activities, post-call runs and their steps, telemetry, worker heartbeats.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from postcall.store.schema import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("end_record", JSONType, nullable=True),
        sa.Column("state", JSONType, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_conversations_status_started", "conversations", ["status", "started_at"])
    op.create_index("ix_conversations_end_reason", "conversations", ["end_reason"])
    op.create_index("ix_conversations_caller", "conversations", ["caller"])
    op.create_index("ix_conversations_started", "conversations", ["started_at"])

    op.create_table(
        "conversation_activities",
        sa.Column("conversation_id", sa.String(200), sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("activity", JSONType, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )

    op.create_table(
        "post_call_runs",
        sa.Column("id", sa.String(500), primary_key=True),
        sa.Column("conversation_id", sa.String(200), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("program", sa.String(100), nullable=False),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("redrives", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("failed_step", sa.Integer, nullable=True),
        sa.Column("failed_node", sa.String(200), nullable=True),
        sa.Column("outcome", JSONType, nullable=True),
        sa.Column("executor_id", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_post_call_runs_conversation", "post_call_runs", ["conversation_id"])
    op.create_index("ix_post_call_runs_status", "post_call_runs", ["status", "created_at"])

    op.create_table(
        "post_call_run_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(500), sa.ForeignKey("post_call_runs.id"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(700), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("request", JSONType, nullable=True),
        sa.Column("response", JSONType, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("error_category", sa.String(32), nullable=True),
        sa.Column("retry_in_s", sa.Float, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("executor_id", sa.String(200), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_post_call_run_steps_run", "post_call_run_steps", ["run_id", "step", "attempt"])

    op.create_table(
        "telemetry_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(700), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(500), nullable=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("event_name", sa.String(200), nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_telemetry_events_conversation", "telemetry_events", ["conversation_id"])

    op.create_table(
        "worker_heartbeats",
        sa.Column("executor_id", sa.String(200), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_start", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(500), nullable=True),
        sa.Column("app_version", sa.String(100), nullable=False),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_epoch", sa.Float, nullable=False),
        sa.Column("last_seen_epoch", sa.Float, nullable=False),
        sa.Column("recovered_by", sa.String(200), nullable=True),
        sa.Column("recovery_claimed_epoch", sa.Float, nullable=True),
        sa.Column("recovered_count", sa.Integer, nullable=True),
    )
    op.create_index("ix_worker_heartbeats_state", "worker_heartbeats", ["state", "last_seen_epoch"])
