"""Worker heartbeats and the claim that lets exactly one survivor recover a dead worker's runs.

Times are read from the database's clock (`Dialect.epoch`, dialects.py), so workers on hosts whose clocks
disagree still agree on which heartbeat is stale.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from postcall.store.dialects import dialect_of
from postcall.store.records import WorkerHeartbeat
from postcall.store.schema import worker_heartbeats

W = worker_heartbeats.c
LIVE_STATES = ("running", "draining")


def _to_heartbeat(row: sa.Row[Any]) -> WorkerHeartbeat:
    m = row._mapping
    return WorkerHeartbeat(**{name: m[name] for name in WorkerHeartbeat.__dataclass_fields__})


def register(
    conn: sa.Connection,
    *,
    executor_id: str,
    hostname: str,
    pid: int,
    process_start: str | None,
    agent: str | None,
    app_version: str,
    queue_name: str,
    concurrency: int | None,
) -> None:
    now = dialect_of(conn).epoch()
    values = {
        "hostname": hostname,
        "pid": pid,
        "process_start": process_start,
        "agent": agent,
        "app_version": app_version,
        "queue_name": queue_name,
        "concurrency": concurrency,
        "state": "running",
        "started_epoch": now,
        "last_seen_epoch": now,
        "recovered_by": None,
        "recovery_claimed_epoch": None,
        "recovered_count": None,
    }
    updated = conn.execute(sa.update(worker_heartbeats).where(W.executor_id == executor_id).values(**values))
    if updated.rowcount == 0:
        conn.execute(worker_heartbeats.insert().values(executor_id=executor_id, **values))


def beat(conn: sa.Connection, executor_id: str, *, state: str | None = None) -> str | None:
    """Refresh the heartbeat; returns the state found before (None if the row is gone)."""
    before = conn.execute(sa.select(W.state).where(W.executor_id == executor_id)).scalar()
    if before is None:
        return None
    values: dict[str, Any] = {"last_seen_epoch": dialect_of(conn).epoch()}
    if state is not None:
        values["state"] = state
    elif before == "dead":
        # Declared dead while alive (a long pause): our runs were handed to others; carry on.
        values["state"] = "running"
        values["recovered_by"] = None
        values["recovery_claimed_epoch"] = None
    conn.execute(sa.update(worker_heartbeats).where(W.executor_id == executor_id).values(**values))
    return str(before)


def set_state(conn: sa.Connection, executor_id: str, state: str) -> None:
    conn.execute(
        sa.update(worker_heartbeats)
        .where(W.executor_id == executor_id)
        .values(state=state, last_seen_epoch=dialect_of(conn).epoch())
    )


def candidates(conn: sa.Connection, *, exclude: str) -> list[WorkerHeartbeat]:
    """Every other worker that is not known to be stopped or already recovered."""
    rows = conn.execute(
        sa.select(worker_heartbeats).where(W.executor_id != exclude, W.state.in_(LIVE_STATES)).order_by(W.executor_id)
    )
    return [_to_heartbeat(r) for r in rows]


def now_epoch(conn: sa.Connection) -> float:
    return float(conn.execute(sa.select(dialect_of(conn).epoch())).scalar_one())


def claim_recovery(
    conn: sa.Connection,
    executor_id: str,
    *,
    claimer: str,
    stale_after_s: float | None,
    claim_ttl_s: float,
) -> bool:
    """Claim the right to recover `executor_id`; True for exactly one claimer.

    The claim succeeds only if the worker is still marked live, its heartbeat is older than
    `stale_after_s` (None: no staleness needed, the caller saw the process is gone), and no
    other survivor holds an unexpired claim.
    """
    now = dialect_of(conn).epoch()
    conditions = [
        W.executor_id == executor_id,
        W.state.in_(LIVE_STATES),
        sa.or_(W.recovered_by.is_(None), W.recovery_claimed_epoch < now - claim_ttl_s),
    ]
    if stale_after_s is not None:
        conditions.append(W.last_seen_epoch < now - stale_after_s)
    result = conn.execute(
        sa.update(worker_heartbeats).where(*conditions).values(recovered_by=claimer, recovery_claimed_epoch=now)
    )
    return result.rowcount == 1


def finish_recovery(conn: sa.Connection, executor_id: str, *, claimer: str, recovered: int) -> None:
    conn.execute(
        sa.update(worker_heartbeats)
        .where(W.executor_id == executor_id, W.recovered_by == claimer)
        .values(state="dead", recovered_count=recovered)
    )


def select_workers(conn: sa.Connection) -> list[WorkerHeartbeat]:
    return [_to_heartbeat(r) for r in conn.execute(sa.select(worker_heartbeats).order_by(W.started_epoch))]
