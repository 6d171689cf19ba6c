"""Retention and erasure: a call's data deleted when its time is up, or on a caller's request.

Every kind of a call's data has its own retention, counted from the end of the call:

- `transcripts`: the activity history (what was said and keyed, the agent's replies, events);
- `variables`: the saved conversation state (its variables), the outcome of its succeeded runs
  and their DBOS workflows (whose inputs hold the variables at the end of the call);
- `request_bodies`: the requests and responses of the post-call steps of succeeded runs, and
  those runs' DBOS workflows (whose step outputs hold the responses);
- `conversations`: everything: the conversation, its history, its runs with their steps and
  telemetry events, and their DBOS workflows.

Runs in flight are never touched: a conversation that is live, or has a run pending or
running (ours, or a DBOS workflow not in a terminal state), is skipped and looked at again by
the next purge.  A failed run keeps its inputs, steps and DBOS records (a redrive needs them)
until it succeeds or the `conversations` retention removes the whole call.  DBOS records are
deleted through DBOS's own `delete_workflows` before our rows, so a crash in between leaves
rows that the next purge finishes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from postcall.store.schema import (
    conversation_activities,
    conversations,
    post_call_run_steps,
    post_call_runs,
    telemetry_events,
)

if TYPE_CHECKING:
    from postcall.store.store import Store

C = conversations.c
A = conversation_activities.c
R = post_call_runs.c
S = post_call_run_steps.c
T = telemetry_events.c

KINDS = ("transcripts", "variables", "request_bodies", "conversations")
IN_FLIGHT = ("pending", "running")
# DBOS statuses after which nothing more is written for a workflow.
DBOS_TERMINAL = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})
BATCH = 200

StateScrubber = Callable[[dict[str, Any]], dict[str, Any] | None]
"""The saved state with its variables removed (the lifecycle knows the state's shape)."""


@dataclass(frozen=True, slots=True)
class RetentionDays:
    """Days after the end of a call each kind of data is kept (None: forever)."""

    transcripts: float | None = None
    variables: float | None = None
    request_bodies: float | None = None
    conversations: float | None = None

    def of(self, kind: str) -> float | None:
        value: float | None = getattr(self, kind)
        return value


@dataclass
class PurgeReport:
    """How many conversations each kind was purged from, and how many were skipped (in flight)."""

    purged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped_in_flight: int = 0

    @property
    def total(self) -> int:
        return sum(self.purged.values())


@dataclass
class EraseReport:
    """Conversations erased, and those refused because they are live or have runs in flight."""

    erased: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)


def _not_done(kind: str) -> sa.ColumnElement[bool]:
    return sa.or_(C.purged.is_(None), sa.not_(C.purged.contains(kind, autoescape=True)))


def _with_kind(purged: str | None, kind: str) -> str:
    kinds = set(filter(None, (purged or "").split(","))) | {kind}
    return ",".join(sorted(kinds))


def _candidates(store: Store, kind: str, cutoff: dt.datetime, after: str) -> list[tuple[str, str | None]]:
    """Ended conversations past the cutoff not yet purged of `kind`, with no run in flight, in id order."""
    busy = sa.exists().where(R.conversation_id == C.id, R.status.in_(IN_FLIGHT))
    query = (
        sa.select(C.id, C.purged)
        .where(C.status == "ended", C.ended_at <= cutoff, _not_done(kind), sa.not_(busy), C.id > after)
        .order_by(C.id)
        .limit(BATCH)
    )
    with store.engine.connect() as conn:
        return [(str(cid), purged) for cid, purged in conn.execute(query)]


def _runs_of(store: Store, conversation_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """conversation id -> [(run id, status)]."""
    found: dict[str, list[tuple[str, str]]] = {cid: [] for cid in conversation_ids}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(R.conversation_id, R.id, R.status).where(R.conversation_id.in_(list(conversation_ids))))
        for cid, run_id, status in rows:
            found[str(cid)].append((str(run_id), str(status)))
    return found


def _dbos_settled(store: Store, run_ids: Iterable[str]) -> bool:
    """True when no DBOS workflow of these runs may still write (terminal or already gone)."""
    for run_id in run_ids:
        status = store.dbos.workflow_status(run_id)
        if status is not None and status not in DBOS_TERMINAL:
            return False
    return True


def _delete_dbos(store: Store, run_ids: Sequence[str]) -> None:
    if run_ids:
        store.dbos.client.delete_workflows(list(run_ids))


def _delete_conversations(conn: sa.Connection, conversation_ids: Sequence[str], run_ids: Sequence[str]) -> None:
    """Every row of these conversations, children first (the foreign keys point at the parents)."""
    ids = list(conversation_ids)
    conn.execute(sa.delete(telemetry_events).where(T.conversation_id.in_(ids)))
    if run_ids:
        conn.execute(sa.delete(post_call_run_steps).where(S.run_id.in_(list(run_ids))))
    conn.execute(sa.delete(post_call_runs).where(R.conversation_id.in_(ids)))
    conn.execute(sa.delete(conversation_activities).where(A.conversation_id.in_(ids)))
    conn.execute(sa.delete(conversations).where(C.id.in_(ids)))


def _purge_batch(
    store: Store, kind: str, batch: list[tuple[str, str | None]], scrub: StateScrubber | None, report: PurgeReport
) -> None:
    runs = _runs_of(store, [cid for cid, _ in batch])
    done: list[tuple[str, str | None]] = []
    for cid, purged in batch:
        if not _dbos_settled(store, (run_id for run_id, _ in runs[cid])):
            report.skipped_in_flight += 1
            continue
        done.append((cid, purged))
    if not done:
        return
    ids = [cid for cid, _ in done]
    every_run = [run_id for cid in ids for run_id, _ in runs[cid]]
    succeeded = [run_id for cid in ids for run_id, status in runs[cid] if status == "succeeded"]
    has_failed = {cid for cid in ids if any(status == "failed" for _, status in runs[cid])}
    if kind == "conversations":
        _delete_dbos(store, every_run)
    elif kind in ("variables", "request_bodies"):
        _delete_dbos(store, succeeded)
    with store._write() as conn:
        if kind == "conversations":
            _delete_conversations(conn, ids, every_run)
        elif kind == "transcripts":
            conn.execute(sa.delete(conversation_activities).where(A.conversation_id.in_(ids)))
        elif kind == "variables":
            if succeeded:
                conn.execute(sa.update(post_call_runs).where(R.id.in_(succeeded)).values(outcome=None))
            for cid in ids:
                state = conn.execute(sa.select(C.state).where(C.id == cid)).scalar()
                if state is not None:
                    conn.execute(sa.update(conversations).where(C.id == cid).values(state=scrub(dict(state)) if scrub else None))
        elif kind == "request_bodies" and succeeded:
            conn.execute(sa.update(post_call_run_steps).where(S.run_id.in_(succeeded)).values(request=None, response=None))
        if kind != "conversations":
            # A call with a failed run is looked at again: its run may succeed after a redrive.
            for cid, purged in done:
                if kind == "transcripts" or cid not in has_failed:
                    conn.execute(sa.update(conversations).where(C.id == cid).values(purged=_with_kind(purged, kind)))
    report.purged[kind] += len(done)


def purge(store: Store, days: RetentionDays, *, scrub: StateScrubber | None = None, now: dt.datetime | None = None) -> PurgeReport:
    """Apply the retention: each kind with a number of days, oldest calls first, in batches."""
    now = now or store.clock.now()
    report = PurgeReport()
    order = ("conversations", "transcripts", "variables", "request_bodies")  # whole calls first: less to do after
    for kind in order:
        keep = days.of(kind)
        if keep is None:
            continue
        cutoff = now - dt.timedelta(days=keep)
        after = ""
        while True:
            batch = _candidates(store, kind, cutoff, after)
            if not batch:
                break
            after = batch[-1][0]
            _purge_batch(store, kind, batch, scrub, report)
    return report


def conversations_of_caller(store: Store, caller: str) -> list[str]:
    """Every conversation whose caller is `caller` (as stored: the number the channel gave)."""
    with store.engine.connect() as conn:
        return [str(cid) for (cid,) in conn.execute(sa.select(C.id).where(C.caller == caller).order_by(C.id))]


def erase(store: Store, conversation_ids: Sequence[str]) -> EraseReport:
    """Delete every trace of these conversations, in every table and in DBOS's, unless in flight."""
    report = EraseReport()
    ids = list(dict.fromkeys(conversation_ids))
    if not ids:
        return report
    with store.engine.connect() as conn:
        status = {str(cid): str(s) for cid, s in conn.execute(sa.select(C.id, C.status).where(C.id.in_(ids)))}
    runs = _runs_of(store, list(status))
    for cid in ids:
        if cid not in status:
            continue
        mine = runs[cid]
        in_flight = status[cid] != "ended" or any(s in IN_FLIGHT for _, s in mine)
        if in_flight or not _dbos_settled(store, (run_id for run_id, _ in mine)):
            report.in_flight.append(cid)
            continue
        run_ids = [run_id for run_id, _ in mine]
        _delete_dbos(store, run_ids)
        with store._write() as conn:
            _delete_conversations(conn, [cid], run_ids)
        report.erased.append(cid)
    return report
