"""Aggregates for the dashboard, the metrics and the readiness check, read straight from the store's tables.

`Store` answers record-by-record questions; these are the few group-by queries the admin side
needs on every scrape and dashboard load (one round trip each, on indexed columns), kept here so
that they read the same tables on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from postcall.store.dialects import dialect_of
from postcall.store.schema import (
    conversations,
    post_call_run_steps,
    post_call_runs,
    worker_heartbeats,
)
from postcall.store.store import Store

C = conversations.c
R = post_call_runs.c
S = post_call_run_steps.c
W = worker_heartbeats.c

# A worker whose heartbeat is older than this is not counted as a ready executor.
EXECUTOR_STALE_SECONDS = 60.0
# Step latency histogram buckets, in seconds (Prometheus `le` bounds).
STEP_LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_CHART_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int
    """Runs waiting for a worker (pending)."""
    oldest_pending_age_s: float
    """Seconds since the oldest pending run was enqueued (or redriven); 0 when none waits."""


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    kind: str
    buckets: tuple[tuple[float, int], ...]
    """(upper bound in seconds, cumulative count), ending with +Inf."""
    count: int
    sum_seconds: float


def ends_by_reason(store: Store) -> dict[str, int]:
    """Ended conversations per end reason, all time ("" for an end without a reason)."""
    query = (
        sa.select(C.end_reason, sa.func.count())
        .where(C.status == "ended")
        .group_by(C.end_reason)
    )
    with store.engine.connect() as conn:
        return {str(reason or ""): int(n) for reason, n in conn.execute(query)}


def count_live(store: Store) -> int:
    query = sa.select(sa.func.count()).select_from(conversations).where(C.status == "live")
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def ends_between(
    store: Store, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, str | None]]:
    """(ended_at, end_reason) of conversations that ended in [start, end)."""
    query = (
        sa.select(C.ended_at, C.end_reason)
        .where(C.status == "ended", C.ended_at >= start, C.ended_at < end)
        .limit(MAX_CHART_ROWS)
    )
    with store.engine.connect() as conn:
        return [(ended_at, reason) for ended_at, reason in conn.execute(query) if ended_at]


def runs_finished_since(store: Store, since: dt.datetime) -> dict[str, int]:
    """Runs per status among those that finished (succeeded or failed) since `since`."""
    query = (
        sa.select(R.status, sa.func.count())
        .where(R.finished_at >= since, R.status.in_(("succeeded", "failed")))
        .group_by(R.status)
    )
    with store.engine.connect() as conn:
        return {str(status): int(n) for status, n in conn.execute(query)}


def queue_stats(store: Store, now: dt.datetime) -> QueueStats:
    query = sa.select(sa.func.count(), sa.func.min(R.updated_at)).where(R.status == "pending")
    with store.engine.connect() as conn:
        depth, oldest = conn.execute(query).one()
    if not depth or oldest is None:
        return QueueStats(0, 0.0)
    oldest = _utc(oldest)
    return QueueStats(int(depth), max((now - oldest).total_seconds(), 0.0))


def step_latency(store: Store, bounds: Sequence[float] = STEP_LATENCY_BUCKETS) -> list[LatencyHistogram]:
    """Cumulative histograms of step attempt durations per action kind (one query)."""
    columns: list[sa.ColumnElement[int]] = [
        sa.func.sum(sa.case((S.duration_ms <= bound * 1000.0, 1), else_=0)) for bound in bounds
    ]
    query = (
        sa.select(S.kind, sa.func.count(), sa.func.coalesce(sa.func.sum(S.duration_ms), 0.0), *columns)
        .where(S.duration_ms.is_not(None))
        .group_by(S.kind)
    )
    found: list[LatencyHistogram] = []
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            kind, count, total_ms, *cumulative = row
            buckets = [(bound, int(c or 0)) for bound, c in zip(bounds, cumulative, strict=True)]
            buckets.append((float("inf"), int(count)))
            found.append(LatencyHistogram(str(kind), tuple(buckets), int(count), float(total_ms) / 1000))
    return found


def database_ready(store: Store) -> tuple[bool, str]:
    try:
        with store.engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1))).scalar()
    except Exception as exc:  # any driver error means "not ready", with its class for the operator
        return False, f"The database does not answer ({type(exc).__name__})."
    return True, "The database answers."


def live_workers(store: Store, stale_after_s: float = EXECUTOR_STALE_SECONDS) -> int:
    """Executors whose heartbeat is fresh (database clock) and that are running or draining."""
    with store.engine.connect() as conn:
        now = dialect_of(conn).epoch()
        query = (
            sa.select(sa.func.count())
            .select_from(worker_heartbeats)
            .where(W.state == "running", W.last_seen_epoch >= now - stale_after_s)
        )
        return int(conn.execute(query).scalar() or 0)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
