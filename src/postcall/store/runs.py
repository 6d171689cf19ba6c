"""Queries on post-call runs, their step history and telemetry events, on a caller-owned connection."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from postcall.actions.types import TelemetryEvent
from postcall.store.records import Run, RunStepRecord
from postcall.store.schema import post_call_run_steps, post_call_runs, telemetry_events

R = post_call_runs.c
S = post_call_run_steps.c
T = telemetry_events.c


@functools.cache
def _insert_ignoring(dialect_name: str, table: sa.Table, key: tuple[str, ...]) -> sa.Insert:
    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    insert: sa.Insert = dialect.insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(*[table.c[name] for name in key])
    return insert


def insert_ignore(conn: sa.Connection, table: sa.Table, values: dict[str, Any], key: Sequence[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on either back end; True if a row was written.

    The statement is built once per table and back end and given the values as parameters:
    building a statement costs more Python than running it, and this one runs inside the
    write lock (see store/sqlite_gate.py).
    """
    # RETURNING, not rowcount: with an implicit RETURNING psycopg reports rowcount -1.
    return conn.execute(_insert_ignoring(conn.dialect.name, table, tuple(key)), values).first() is not None


def insert_run(
    conn: sa.Connection, *, run_id: str, conversation_id: str, topic: str, program: str, queue_name: str, now: dt.datetime
) -> bool:
    return insert_ignore(
        conn,
        post_call_runs,
        {
            "id": run_id,
            "conversation_id": conversation_id,
            "topic": topic,
            "program": program,
            "queue_name": queue_name,
            "status": "pending",
            "executions": 0,
            "attempts": 0,
            "redrives": 0,
            "created_at": now,
            "updated_at": now,
        },
        ["id"],
    )


def begin_run(conn: sa.Connection, run_id: str, *, executor_id: str | None, now: dt.datetime) -> int:
    """Mark the run running for one more execution; returns its execution count (0 if the run is unknown)."""
    row = conn.execute(
        sa.update(post_call_runs)
        .where(R.id == run_id)
        .values(
            status="running",
            executions=R.executions + 1,
            error=None,
            failed_step=None,
            failed_node=None,
            executor_id=executor_id,
            started_at=now,
            finished_at=None,
            updated_at=now,
        )
        .returning(R.executions)
    ).first()
    return 0 if row is None else int(row[0])


def finish_run(
    conn: sa.Connection,
    run_id: str,
    *,
    status: str,
    error: str | None,
    failed_step: int | None,
    failed_node: str | None,
    attempts: int,
    outcome: dict[str, Any] | None,
    now: dt.datetime,
    began: tuple[dt.datetime, str | None] | None = None,
) -> None:
    """Store the run's outcome; `began` (start time, executor) for an execution never marked running."""
    values: dict[str, Any] = {
        "status": status,
        "error": error,
        "failed_step": failed_step,
        "failed_node": failed_node,
        "attempts": attempts,
        "outcome": outcome,
        "finished_at": now,
        "updated_at": now,
    }
    if began is None:
        conn.execute(_FINISH, {"_run": run_id, **values})
    else:
        conn.execute(_FINISH_BEGAN, {"_run": run_id, **values, "started_at": began[0], "executor_id": began[1]})


# Built once: the columns to set come with the parameters (see insert_ignore for why).
_FINISH = sa.update(post_call_runs).where(R.id == sa.bindparam("_run"))
_FINISH_BEGAN = _FINISH.values(executions=R.executions + 1)


def mark_running_if_pending(conn: sa.Connection, run_id: str, *, executor_id: str | None, now: dt.datetime) -> None:
    """A run that shows its first failed attempt is shown running (if its start was not marked yet)."""
    conn.execute(
        sa.update(post_call_runs)
        .where(R.id == run_id, R.status == "pending")
        .values(status="running", executor_id=executor_id, started_at=now, updated_at=now)
    )


_STEP_INSERT = post_call_run_steps.insert()
_STORED_STEPS = sa.select(S.step, S.attempt, S.at).where(S.run_id == sa.bindparam("_run"), S.step.in_(sa.bindparam("_steps", expanding=True)))


def _step_row(record: RunStepRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "step": record.step,
        "node_id": record.node_id,
        "kind": record.kind,
        "idempotency_key": record.idempotency_key,
        "attempt": record.attempt,
        "ok": record.ok,
        "request": record.request,
        "response": record.response,
        "error": record.error,
        "error_category": record.error_category,
        "retry_in_s": record.retry_in_s,
        "duration_ms": record.duration_ms,
        "executor_id": record.executor_id,
        "at": record.at,
    }


def insert_step(conn: sa.Connection, record: RunStepRecord) -> None:
    conn.execute(_STEP_INSERT, _step_row(record))


def insert_steps_once(conn: sa.Connection, run_id: str, records: Sequence[RunStepRecord]) -> int:
    """Insert the run's attempt records not stored yet (same step, attempt and start time); returns how many.

    The records come from the run's step checkpoints, which a replayed or redriven run reads
    again: what an earlier execution already stored is skipped.
    """
    if not records:
        return 0
    steps = sorted({r.step for r in records})
    stored = {(int(step), int(attempt), at) for step, attempt, at in conn.execute(_STORED_STEPS, {"_run": run_id, "_steps": steps})}
    fresh = [r for r in records if (r.step, r.attempt, r.at) not in stored]
    if fresh:
        conn.execute(_STEP_INSERT, [_step_row(r) for r in fresh])
    return len(fresh)


def _to_step(row: sa.Row[Any]) -> RunStepRecord:
    m = row._mapping
    return RunStepRecord(
        run_id=m["run_id"],
        step=m["step"],
        node_id=m["node_id"],
        kind=m["kind"],
        idempotency_key=m["idempotency_key"],
        attempt=m["attempt"],
        ok=bool(m["ok"]),
        request=m["request"],
        response=m["response"],
        error=m["error"],
        error_category=m["error_category"],
        retry_in_s=m["retry_in_s"],
        duration_ms=m["duration_ms"],
        executor_id=m["executor_id"],
        at=m["at"],
    )


def steps_of(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, list[RunStepRecord]]:
    found: dict[str, list[RunStepRecord]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    for chunk_start in range(0, len(run_ids), 500):
        chunk = list(run_ids[chunk_start : chunk_start + 500])
        rows = conn.execute(sa.select(post_call_run_steps).where(S.run_id.in_(chunk)).order_by(S.run_id, S.step, S.at, S.id))
        for row in rows:
            found[row.run_id].append(_to_step(row))
    return found


# A run's attempts, the one figure the CLI, the API and the console show: the attempt records of
# the last step that ran, over every execution (a retrying step's attempts while it retries, the
# attempts before and after a redrive).  The column only holds what the last execution reported
# when it finished, so it is the fallback for runs whose attempts are not recorded.
_S2 = post_call_run_steps.alias("last_step")
_LAST_STEP = sa.select(sa.func.max(_S2.c.step)).where(_S2.c.run_id == R.id).scalar_subquery()
_STEP_ATTEMPTS = (
    sa.select(sa.func.count()).select_from(post_call_run_steps).where(S.run_id == R.id, S.step == _LAST_STEP).scalar_subquery()
)
_RUN_COLUMNS = (post_call_runs, _STEP_ATTEMPTS.label("step_attempts"))


def _to_run(row: sa.Row[Any], steps: Sequence[RunStepRecord] = ()) -> Run:
    m = row._mapping
    recorded = m.get("step_attempts") or 0
    return Run(
        id=m["id"],
        conversation_id=m["conversation_id"],
        topic=m["topic"],
        program=m["program"],
        queue_name=m["queue_name"],
        status=m["status"],
        executions=m["executions"],
        attempts=max(int(m["attempts"]), int(recorded)),
        redrives=m["redrives"],
        error=m["error"],
        failed_step=m["failed_step"],
        failed_node=m["failed_node"],
        outcome=m["outcome"],
        executor_id=m["executor_id"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        updated_at=m["updated_at"],
        steps=tuple(steps),
    )


def get_run(conn: sa.Connection, run_id: str, *, with_steps: bool = True) -> Run | None:
    row = conn.execute(sa.select(*_RUN_COLUMNS).where(R.id == run_id)).first()
    if row is None:
        return None
    steps = steps_of(conn, [run_id])[run_id] if with_steps else []
    return _to_run(row, steps)


def select_runs(
    conn: sa.Connection,
    *,
    status: str | None = None,
    conversation_id: str | None = None,
    topic: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
    with_steps: bool = False,
) -> list[Run]:
    query = sa.select(*_RUN_COLUMNS)
    if status is not None:
        query = query.where(R.status == status)
    if conversation_id is not None:
        query = query.where(R.conversation_id == conversation_id)
    if topic is not None:
        query = query.where(R.topic == topic)
    query = query.order_by(R.created_at.desc(), R.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = list(conn.execute(query))
    steps = steps_of(conn, [r.id for r in rows]) if with_steps else {}
    return [_to_run(r, steps.get(r.id, [])) for r in rows]


def run_ids_starting_with(conn: sa.Connection, prefix: str, *, limit: int = 2) -> list[str]:
    """Run ids that are `prefix` or start with it (the exact id first), at most `limit`."""
    exact = conn.execute(sa.select(R.id).where(R.id == prefix)).scalar()
    if exact is not None:
        return [str(exact)]
    rows = conn.execute(sa.select(R.id).where(R.id.startswith(prefix, autoescape=True)).order_by(R.id).limit(limit))
    return [str(r) for (r,) in rows]


def count_runs_by_status(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(R.status, sa.func.count()).group_by(R.status))
    return {str(status): int(n) for status, n in rows}


def mark_redriven(conn: sa.Connection, run_id: str, *, executions_seen: int, now: dt.datetime) -> None:
    """Count a redrive; set the run back to pending unless its new execution already began."""
    conn.execute(sa.update(post_call_runs).where(R.id == run_id).values(redrives=R.redrives + 1, updated_at=now))
    conn.execute(
        sa.update(post_call_runs)
        .where(R.id == run_id, R.status == "failed", R.executions == executions_seen)
        .values(status="pending", error=None)
    )


def release_runs(conn: sa.Connection, run_ids: Sequence[str], *, now: dt.datetime) -> None:
    """Mark runs handed back to the queue (by a stopping worker) as pending again."""
    if run_ids:
        conn.execute(
            sa.update(post_call_runs)
            .where(R.id.in_(list(run_ids)), R.status == "running")
            .values(status="pending", executor_id=None, updated_at=now)
        )


def insert_telemetry(conn: sa.Connection, event: TelemetryEvent) -> bool:
    return insert_ignore(
        conn,
        telemetry_events,
        {
            "idempotency_key": event.idempotency_key,
            "conversation_id": event.conversation_id,
            "run_id": event.run_id,
            "topic": event.topic,
            "node_id": event.node_id,
            "event_name": event.event_name,
            "properties": event.properties,
            "at": event.at,
        },
        ["idempotency_key"],
    )


def select_telemetry(conn: sa.Connection, *, conversation_id: str | None = None, limit: int = 1000) -> list[TelemetryEvent]:
    query = sa.select(telemetry_events)
    if conversation_id is not None:
        query = query.where(T.conversation_id == conversation_id)
    rows = conn.execute(query.order_by(T.id).limit(limit))
    return [
        TelemetryEvent(
            idempotency_key=r.idempotency_key,
            conversation_id=r.conversation_id,
            run_id=r.run_id,
            topic=r.topic,
            node_id=r.node_id,
            event_name=r.event_name,
            properties=r.properties,
            at=r.at,
        )
        for r in rows
    ]
