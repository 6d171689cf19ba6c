"""`Store`: conversations, their history and end, post-call runs, telemetry and worker heartbeats, in one database.

Thread use: a Store is safe to share between threads; every method takes a connection from
the engine's pool and returns it.  The methods are synchronous (SQLAlchemy Core); from asyncio
code call them through `asyncio.to_thread`.  Open one Store per process and reuse it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa

from postcall.actions.types import TelemetryEvent
from postcall.clock import Clock, SystemClock
from postcall.safetext import clean_json
from postcall.store import conversations as conv_q
from postcall.store import retention
from postcall.store import runs as run_q
from postcall.store import workers as worker_q
from postcall.store.database import is_sqlite, printable_url, write_transaction
from postcall.store.dbos_link import DEFAULT_QUEUE, DBOSLink
from postcall.store.errors import (
    AmbiguousRunIdError,
    ConversationExistsError,
    RunNotFoundError,
    RunNotRedrivableError,
)
from postcall.store.records import (
    ActivityRecord,
    Conversation,
    NewActivity,
    RedriveResult,
    Run,
    RunEnvelope,
    RunSpec,
    RunStepRecord,
    StoredEnd,
    WorkerHeartbeat,
)
from postcall.store.retention import EraseReport, PurgeReport, RetentionDays, StateScrubber
from postcall.vocabulary import ActivityType


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy: datetimes become ISO strings, tuples lists, unknown objects their str.

    Strings that no back end can store (a NUL, a lone surrogate: postcall/safetext.py) are
    cleaned; the escaped dump shows them as `\\u0000` or `\\udXXX`, so clean text costs one scan.
    """
    dumped = json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, dt.datetime | dt.date) else str(v))
    loaded = json.loads(dumped)
    if "\\u0000" in dumped or "\\ud" in dumped:
        return clean_json(loaded)
    return loaded


def _jsonable_event(event: TelemetryEvent) -> TelemetryEvent:
    return dataclasses.replace(event, properties=_jsonable(event.properties))


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


class Turn:
    """One turn of one conversation, holding its lock until the `with` block ends (then commits)."""

    def __init__(self, store: Store, conn: sa.Connection, conversation: Conversation) -> None:
        self._store = store
        self._conn = conn
        self.conversation = conversation

    def save(self, state: dict[str, Any], activities: Sequence[NewActivity] = ()) -> int:
        """Store the state after the turn and append its activities; returns the new version."""
        now = self._store.clock.now()
        version = conv_q.save_state(
            self._conn, self.conversation.id, _jsonable(state), expected_version=self.conversation.version, now=now
        )
        conv_q.append_activities(self._conn, self.conversation.id, activities, now)
        return version

    def append(self, activities: Sequence[NewActivity]) -> list[int]:
        return conv_q.append_activities(self._conn, self.conversation.id, activities, self._store.clock.now())

    def end(self, end_record: StoredEnd, runs: Sequence[RunSpec], activities: Sequence[NewActivity] = ()) -> bool:
        """Like `Store.record_end`, inside this turn's transaction."""
        return self._store._end_in(self._conn, self.conversation.id, end_record, runs, activities)


class TurnBatch:
    """Turns of several conversations in one write transaction (see `Store.turns`)."""

    def __init__(self, store: Store, conn: sa.Connection) -> None:
        self._store = store
        self._conn = conn

    def turn(self, conversation_id: str) -> Turn:
        """Lock one conversation (ConversationNotFoundError if there is none) and return its turn."""
        return Turn(self._store, self._conn, conv_q.require(self._conn, conversation_id, for_update=True))

    def create_conversation(self, conversation_id: str, *, agent: str, channel: str, caller: str | None = None) -> bool:
        """Create a live conversation unless it exists; True if this created it."""
        now = self._store.clock.now()
        return conv_q.insert(
            self._conn, conversation_id=conversation_id, agent=agent, channel=channel, caller=caller,
            started_at=now, state=None, now=now,
        )


class Store:
    """The database of one agent deployment: see the module docstring for thread use."""

    def __init__(self, engine: sa.Engine, url: str, *, clock: Clock | None = None, queue_name: str = DEFAULT_QUEUE) -> None:
        self.engine = engine
        self.url = url
        self.clock: Clock = clock or SystemClock()
        self.queue_name = queue_name
        self.dbos = DBOSLink(engine)
        # SQLite has one writer at a time and makes the others wait by sleeping and retrying
        # (1, 2, 5, ... up to 100 ms a try); queueing this process's writers on a lock instead
        # keeps our commits back to back.  (DBOS's own engine still competes for the file.)
        self._write_lock: AbstractContextManager[Any] = threading.RLock() if is_sqlite(url) else nullcontext()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction: BEGIN IMMEDIATE on SQLite, one at a time per process there."""
        with self._write_lock, write_transaction(self.engine) as conn:
            yield conn

    def __repr__(self) -> str:
        return f"Store({printable_url(self.url)!r})"

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def close(self) -> None:
        self.dbos.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conversations -------------------------------------------------------------------

    def create_conversation(
        self,
        conversation_id: str,
        *,
        agent: str,
        channel: str,
        caller: str | None = None,
        started_at: dt.datetime | None = None,
        state: dict[str, Any] | None = None,
        exist_ok: bool = False,
    ) -> Conversation:
        """Create a live conversation; with `exist_ok` an existing one is returned unchanged."""
        now = self.clock.now()
        with self._write() as conn:
            created = conv_q.insert(
                conn,
                conversation_id=conversation_id,
                agent=agent,
                channel=channel,
                caller=caller,
                started_at=started_at or now,
                state=None if state is None else _jsonable(state),
                now=now,
            )
            if not created and not exist_ok:
                raise ConversationExistsError(conversation_id)
            return conv_q.require(conn, conversation_id)

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            return conv_q.get(conn, conversation_id)

    def list_conversations(
        self,
        *,
        status: str | None = None,
        end_reason: str | None = None,
        caller: str | None = None,
        agent: str | None = None,
        started_after: dt.datetime | None = None,
        started_before: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Conversation]:
        """Newest first, filtered by status ("live"/"ended"), end reason, caller, agent and start time range."""
        with self.engine.connect() as conn:
            return conv_q.select_many(
                conn,
                status=status,
                end_reason=end_reason,
                caller=caller,
                agent=agent,
                started_after=started_after,
                started_before=started_before,
                limit=limit,
                offset=offset,
            )

    def count_conversations(self, *, status: str | None = None) -> int:
        """How many conversations there are (with `status` "live" or "ended": of that status)."""
        with self.engine.connect() as conn:
            return conv_q.count(conn, status=status)

    def live_versions(self) -> list[tuple[str, int]]:
        """(id, version) of every live conversation (the watchdog's sweep)."""
        with self.engine.connect() as conn:
            return conv_q.live_versions(conn)

    def live_states(self, ids: Sequence[str]) -> list[tuple[str, int, dict[str, Any] | None]]:
        """(id, version, saved state) of those of `ids` still live (the watchdog's sweep)."""
        with self.engine.connect() as conn:
            return conv_q.live_states(conn, ids)

    def history(self, conversation_id: str, *, after_seq: int = 0) -> list[ActivityRecord]:
        """The conversation's activities in order (the transcript, ends and late events included)."""
        with self.engine.connect() as conn:
            return conv_q.history(conn, conversation_id, after_seq=after_seq)

    def append_activities(self, conversation_id: str, activities: Sequence[NewActivity]) -> list[int]:
        """Append activities without touching the state (e.g. events that arrive after the end)."""
        with self.turn(conversation_id) as turn:
            return turn.append(activities)

    @contextmanager
    def turn(self, conversation_id: str) -> Iterator[Turn]:
        """Lock the conversation for one turn: SQLite BEGIN IMMEDIATE, PostgreSQL SELECT ... FOR UPDATE.

        Turns of one conversation never interleave, whichever process runs them: a second
        `turn()` on the same conversation waits until the first commits, then sees its state.
        """
        with self._write() as conn:
            conversation = conv_q.require(conn, conversation_id, for_update=True)
            yield Turn(self, conn, conversation)

    @contextmanager
    def turns(self) -> Iterator[TurnBatch]:
        """One write transaction for the turns of several conversations, committed together.

        A group commit: on SQLite one lock and one fsync for all of them.  Lock conversations in a
        consistent order (e.g. by id) when other processes may batch the same ones.
        """
        with self._write() as conn:
            yield TurnBatch(self, conn)

    def save_turn(
        self,
        conversation_id: str,
        *,
        state: dict[str, Any],
        activities: Sequence[NewActivity] = (),
        expected_version: int,
    ) -> int:
        """Save a turn computed from the state at `expected_version` (optimistic locking).

        Raises ConcurrentTurnError if another turn was saved since; returns the new version.
        """
        now = self.clock.now()
        with self._write() as conn:
            version = conv_q.save_state(conn, conversation_id, _jsonable(state), expected_version=expected_version, now=now)
            conv_q.append_activities(conn, conversation_id, activities, now)
            return version

    def record_end(
        self,
        conversation_id: str,
        end_record: StoredEnd,
        runs: Sequence[RunSpec],
        *,
        activities: Sequence[NewActivity] = (),
    ) -> bool:
        """End the conversation once and enqueue its post-call runs, in one transaction.

        `end_record` is stored as given (made JSON-safe); its "reason" becomes `end_reason` and
        its "ended_at", a datetime or ISO string, becomes `ended_at` (default: now).  Returns True if this call ended the conversation.  If it was already ended the
        second end is appended to the history as an `endOfConversation` activity marked
        `"duplicate": true`, nothing is enqueued, and False is returned.
        """
        with self._write() as conn:
            conv_q.require(conn, conversation_id, for_update=True)
            return self._end_in(conn, conversation_id, end_record, runs, activities)

    def _end_in(
        self,
        conn: sa.Connection,
        conversation_id: str,
        end_record: StoredEnd,
        runs: Sequence[RunSpec],
        activities: Sequence[NewActivity],
    ) -> bool:
        now = self.clock.now()
        record = _jsonable(end_record)
        ended_at = _parse_time(end_record.get("ended_at")) or now
        reason = end_record["reason"]
        ended = conv_q.mark_ended(
            conn, conversation_id, end_record=record, ended_at=ended_at, end_reason=str(reason), now=now
        )
        if not ended:
            conv_q.append_activities(
                conn,
                conversation_id,
                [*activities, NewActivity("in", ActivityType.END_OF_CONVERSATION, {"duplicate": True, "end": record}, at=now)],
                now,
            )
            return False
        conv_q.append_activities(conn, conversation_id, [*activities, NewActivity("in", ActivityType.END_OF_CONVERSATION, record, at=ended_at)], now)
        for spec in runs:
            run_id = spec.resolved_id(conversation_id)
            inserted = run_q.insert_run(
                conn,
                run_id=run_id,
                conversation_id=conversation_id,
                topic=spec.topic,
                program=spec.program,
                queue_name=self.queue_name,
                now=now,
            )
            if inserted:
                self.dbos.enqueue_in_transaction(
                    conn,
                    run_id=run_id,
                    queue_name=self.queue_name,
                    workflow_input=RunEnvelope(
                        run_id=run_id,
                        conversation_id=conversation_id,
                        topic=spec.topic,
                        program=spec.program,
                        input=_jsonable(spec.input),
                    ),
                )
        return True

    # -- post-call runs ------------------------------------------------------------------

    def get_run(self, run_id: str, *, with_steps: bool = True) -> Run | None:
        with self.engine.connect() as conn:
            return run_q.get_run(conn, run_id, with_steps=with_steps)

    def list_runs(
        self,
        *,
        status: str | None = None,
        conversation_id: str | None = None,
        topic: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
        with_steps: bool = False,
    ) -> list[Run]:
        """Newest first; `with_steps` loads every attempt of every step."""
        with self.engine.connect() as conn:
            return run_q.select_runs(
                conn, status=status, conversation_id=conversation_id, topic=topic, limit=limit, offset=offset, with_steps=with_steps
            )

    def resolve_run_id(self, id_or_prefix: str) -> str:
        """The whole run id for a whole id or a unique prefix of one (ids are long; lists cut them)."""
        if not id_or_prefix:
            raise RunNotFoundError(id_or_prefix)
        with self.engine.connect() as conn:
            found = run_q.run_ids_starting_with(conn, id_or_prefix, limit=4)
        if not found:
            raise RunNotFoundError(id_or_prefix)
        if len(found) > 1:
            raise AmbiguousRunIdError(id_or_prefix, found)
        return found[0]

    # -- retention and erasure (store/retention.py) -----------------------------------------

    def purge(self, days: RetentionDays, *, scrub: StateScrubber | None = None, now: dt.datetime | None = None) -> PurgeReport:
        """Delete what the retention says is due; runs in flight are never touched."""
        return retention.purge(self, days, scrub=scrub, now=now)

    def erase(self, *, conversation_ids: Sequence[str] = (), caller: str | None = None) -> EraseReport:
        """Delete every trace of some conversations (by id, or all of one caller), DBOS's records too."""
        ids = list(conversation_ids)
        if caller is not None:
            ids += retention.conversations_of_caller(self, caller)
        return retention.erase(self, ids)

    def count_runs(self) -> dict[str, int]:
        """Runs per status."""
        with self.engine.connect() as conn:
            return run_q.count_runs_by_status(conn)

    def begin_run(self, run_id: str, *, executor_id: str | None) -> int:
        """Mark the run running for one more execution; returns the execution count.

        The workflow calls it only once a run has gone on for a moment (a run done sooner goes
        from pending to its outcome in one commit, see `finish_run`'s `began`)."""
        with self._write() as conn:
            return run_q.begin_run(conn, run_id, executor_id=executor_id, now=self.clock.now())

    def record_step(self, record: RunStepRecord) -> None:
        """Store a (failed) attempt at once; a run not yet shown running is shown running by it."""
        with self._write() as conn:
            run_q.insert_step(conn, record)
            run_q.mark_running_if_pending(conn, record.run_id, executor_id=record.executor_id, now=self.clock.now())

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        error: str | None = None,
        failed_step: int | None = None,
        failed_node: str | None = None,
        attempts: int = 0,
        outcome: dict[str, Any] | None = None,
        steps: Sequence[RunStepRecord] = (),
        telemetry: Sequence[TelemetryEvent] = (),
        began: tuple[dt.datetime, str | None] | None = None,
    ) -> None:
        """Store the run's outcome and, in the same transaction, what its steps carried.

        `steps`: the attempt records not stored yet, `telemetry`: the log steps' events (once per
        idempotency key); the workflow carries both in its step checkpoints and stores them here,
        saving a commit per step.  `began` (start time, executor) counts an execution that
        finished before it was ever marked running (see `begin_run`).
        """
        with self._write() as conn:
            run_q.insert_steps_once(conn, run_id, steps)
            for event in telemetry:
                run_q.insert_telemetry(conn, _jsonable_event(event))
            run_q.finish_run(
                conn,
                run_id,
                status=status,
                error=error,
                failed_step=failed_step,
                failed_node=failed_node,
                attempts=attempts,
                outcome=None if outcome is None else _jsonable(outcome),
                now=self.clock.now(),
                began=began,
            )

    def release_runs(self, run_ids: Sequence[str]) -> None:
        """Runs a stopping worker handed back to the queue are pending again (until a worker begins them)."""
        with self._write() as conn:
            run_q.release_runs(conn, run_ids, now=self.clock.now())

    def redrive(self, run_id: str) -> RedriveResult:
        """Resume a failed run from its failed step, under the same run id and idempotency keys.

        The steps before the failed one keep their recorded results and are not repeated.
        """
        run = self.get_run(run_id, with_steps=False)
        if run is None:
            raise RunNotFoundError(run_id)
        if run.status != "failed":
            raise RunNotRedrivableError(run_id, run.status)
        from_step = run.failed_step
        if from_step is None:
            recorded = [number for number, _name in self.dbos.step_numbers(run_id)]
            from_step = max(recorded, default=0) + 1
        self.dbos.rewind(run_id, from_step, run.queue_name)
        with self._write() as conn:
            run_q.mark_redriven(conn, run_id, executions_seen=run.executions, now=self.clock.now())
        return RedriveResult(run_id=run_id, from_step=from_step, queue_name=run.queue_name)

    def redrive_all_failed(self) -> list[RedriveResult]:
        return [self.redrive(run.id) for run in self.list_runs(status="failed", limit=None)]

    # -- telemetry (TelemetrySink) -------------------------------------------------------

    def record_telemetry(self, event: TelemetryEvent) -> bool:
        """Store a LogCustomTelemetryEvent once per idempotency key; False if it was already stored."""
        with self._write() as conn:
            return run_q.insert_telemetry(conn, _jsonable_event(event))

    def telemetry(self, *, conversation_id: str | None = None, limit: int = 1000) -> list[TelemetryEvent]:
        with self.engine.connect() as conn:
            return run_q.select_telemetry(conn, conversation_id=conversation_id, limit=limit)

    # -- workers -------------------------------------------------------------------------

    def register_worker(
        self,
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
        with self._write() as conn:
            worker_q.register(
                conn,
                executor_id=executor_id,
                hostname=hostname,
                pid=pid,
                process_start=process_start,
                agent=agent,
                app_version=app_version,
                queue_name=queue_name,
                concurrency=concurrency,
            )

    def heartbeat(self, executor_id: str, *, state: str | None = None) -> str | None:
        with self._write() as conn:
            return worker_q.beat(conn, executor_id, state=state)

    def set_worker_state(self, executor_id: str, state: str) -> None:
        with self._write() as conn:
            worker_q.set_state(conn, executor_id, state)

    def workers(self) -> list[WorkerHeartbeat]:
        with self.engine.connect() as conn:
            return worker_q.select_workers(conn)

    def recovery_candidates(self, executor_id: str) -> tuple[float, list[WorkerHeartbeat]]:
        """(database clock now, other workers still marked live)."""
        with self.engine.connect() as conn:
            return worker_q.now_epoch(conn), worker_q.candidates(conn, exclude=executor_id)

    def claim_recovery(self, executor_id: str, *, claimer: str, stale_after_s: float | None, claim_ttl_s: float) -> bool:
        with self._write() as conn:
            return worker_q.claim_recovery(
                conn, executor_id, claimer=claimer, stale_after_s=stale_after_s, claim_ttl_s=claim_ttl_s
            )

    def finish_recovery(self, executor_id: str, *, claimer: str, recovered: int) -> None:
        with self._write() as conn:
            worker_q.finish_recovery(conn, executor_id, claimer=claimer, recovered=recovered)
