"""The store's tables (SQLAlchemy Core), shared by the Alembic migrations and the queries.

They live in the same database as DBOS's system tables (SQLite: the same file; PostgreSQL:
the same database, DBOS in its own `dbos` schema, ours in the default one) so that an end and
the enqueueing of its post-call runs commit in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both back ends (SQLite keeps them as sortable UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)


conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("agent", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("caller", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # live | ended
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
    sa.Column("end_record", JSONType, nullable=True),
    sa.Column("state", JSONType, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # The kinds of data retention already purged, sorted, comma-separated (store/retention.py).
    sa.Column("purged", sa.String(100), nullable=True),
    sa.Index("ix_conversations_status_started", "status", "started_at"),
    sa.Index("ix_conversations_status_ended", "status", "ended_at"),
    sa.Index("ix_conversations_end_reason", "end_reason"),
    sa.Index("ix_conversations_caller", "caller"),
    sa.Index("ix_conversations_started", "started_at"),
)

conversation_activities = sa.Table(
    "conversation_activities",
    metadata,
    sa.Column("conversation_id", sa.String(200), sa.ForeignKey("conversations.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("direction", sa.String(8), nullable=False),  # in | out
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("activity", JSONType, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
)

post_call_runs = sa.Table(
    "post_call_runs",
    metadata,
    sa.Column("id", sa.String(500), primary_key=True),  # = the DBOS workflow id
    sa.Column("conversation_id", sa.String(200), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("program", sa.String(100), nullable=False),
    sa.Column("queue_name", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | running | succeeded | failed
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
    sa.Index("ix_post_call_runs_conversation", "conversation_id"),
    sa.Index("ix_post_call_runs_status", "status", "created_at"),
)

post_call_run_steps = sa.Table(
    "post_call_run_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(500), sa.ForeignKey("post_call_runs.id"), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),  # the DBOS step number (function id) in the run
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
    sa.Index("ix_post_call_run_steps_run", "run_id", "step", "attempt"),
)

telemetry_events = sa.Table(
    "telemetry_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(700), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(500), nullable=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("node_id", sa.String(200), nullable=False),
    sa.Column("event_name", sa.String(200), nullable=False),
    sa.Column("properties", JSONType, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_telemetry_events_conversation", "conversation_id"),
)

worker_heartbeats = sa.Table(
    "worker_heartbeats",
    metadata,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("process_start", sa.String(64), nullable=True),  # guards against pid reuse
    sa.Column("agent", sa.String(500), nullable=True),
    sa.Column("app_version", sa.String(100), nullable=False),
    sa.Column("queue_name", sa.String(100), nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),  # running | draining | stopped | dead
    sa.Column("started_epoch", sa.Float, nullable=False),  # database clock, seconds since 1970
    sa.Column("last_seen_epoch", sa.Float, nullable=False),
    sa.Column("recovered_by", sa.String(200), nullable=True),
    sa.Column("recovery_claimed_epoch", sa.Float, nullable=True),
    sa.Column("recovered_count", sa.Integer, nullable=True),
    sa.Index("ix_worker_heartbeats_state", "state", "last_seen_epoch"),
)


def db_epoch(dialect_name: str) -> sa.ColumnElement[float]:
    """The database's clock in seconds since 1970, so that hosts with skewed clocks agree on staleness."""
    if dialect_name == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return sa.cast((sa.func.julianday("now") - 2440587.5) * 86400.0, sa.Float)
