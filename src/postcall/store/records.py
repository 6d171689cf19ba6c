"""The store's records: plain frozen dataclasses handed to and returned by `Store`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, Required, TypedDict, get_args

from postcall.vocabulary import EndReason, Initiator, RunStatus

ConversationStatus = Literal["live", "ended"]
Direction = Literal["in", "out"]

RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)


def run_id_for(conversation_id: str, topic: str) -> str:
    """The id of the post-call run of `topic` for a conversation (also its DBOS workflow id)."""
    return f"postcall:{conversation_id}:{topic}"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    agent: str
    channel: str
    caller: str | None
    status: ConversationStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None
    end_record: dict[str, Any] | None
    state: dict[str, Any] | None
    version: int
    """Incremented by every saved turn; the optimistic-locking token of `save_turn`."""
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "channel": self.channel,
            "caller": self.caller,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_reason": self.end_reason,
            "end_record": self.end_record,
            "version": self.version,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class NewActivity:
    """An activity to append to a conversation's history (the transcript)."""

    direction: Direction
    type: str
    activity: dict[str, Any]
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    conversation_id: str
    seq: int
    direction: str
    type: str
    activity: dict[str, Any]
    at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "direction": self.direction,
            "type": self.type,
            "activity": self.activity,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A post-call run to enqueue with a conversation's end.

    `program` names a factory in the executor's `postcall.durable.program.ProgramRegistry`;
    `input` is the JSON it is built from.  `run_id` defaults to `postcall:<conversation>:<topic>`,
    which makes enqueueing idempotent: an end processed twice runs nothing twice.
    """

    topic: str
    program: str
    input: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None

    def resolved_id(self, conversation_id: str) -> str:
        return self.run_id or run_id_for(conversation_id, self.topic)


class StoredEnd(TypedDict, total=False):
    """A conversation's end as `Store.record_end` stores it (conversations.end_record, and the
    `endOfConversation` activity).  Only `reason` is required: a drill or a test may end a
    conversation with a reason alone; the runtime (lifecycle) writes every field.

    `reason` becomes the row's `end_reason`; `ended_at` (a datetime or an ISO string) its
    `ended_at` (default: now).  `detail` is engine.ending.EndRecord.detail(), opaque here.
    """

    reason: Required[EndReason]
    initiator: Initiator
    detail: dict[str, Any]
    ended_at: str | dt.datetime
    post_call_topics: list[str]


class RunEnvelope(TypedDict):
    """What the store enqueues for a run and the durable workflow receives (`postcall.run`).

    DBOS checkpoints it as JSON; `input` is the program's own JSON (for a "topic" run,
    `postcall.lifecycle.programs.TopicRunInput`), opaque to the store and the durable layer.
    """

    run_id: str
    conversation_id: str
    topic: str
    program: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunStepRecord:
    """One attempt of one step of a run, as sent and received (secrets already masked)."""

    run_id: str
    step: int
    node_id: str
    kind: str
    idempotency_key: str
    attempt: int
    ok: bool
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    error: str | None
    error_category: str | None
    retry_in_s: float | None
    duration_ms: float | None
    executor_id: str | None
    at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "node_id": self.node_id,
            "kind": self.kind,
            "idempotency_key": self.idempotency_key,
            "attempt": self.attempt,
            "ok": self.ok,
            "request": self.request,
            "response": self.response,
            "error": self.error,
            "error_category": self.error_category,
            "retry_in_s": self.retry_in_s,
            "duration_ms": self.duration_ms,
            "executor_id": self.executor_id,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, run_id: str, data: dict[str, Any]) -> RunStepRecord:
        """The inverse of `to_json` (which leaves out the run id)."""
        at = dt.datetime.fromisoformat(str(data["at"]))
        return cls(
            run_id=run_id,
            step=int(data["step"]),
            node_id=str(data["node_id"]),
            kind=str(data["kind"]),
            idempotency_key=str(data["idempotency_key"]),
            attempt=int(data["attempt"]),
            ok=bool(data["ok"]),
            request=data.get("request"),
            response=data.get("response"),
            error=data.get("error"),
            error_category=data.get("error_category"),
            retry_in_s=data.get("retry_in_s"),
            duration_ms=data.get("duration_ms"),
            executor_id=data.get("executor_id"),
            at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
        )


@dataclass(frozen=True, slots=True)
class Run:
    """A post-call run: one DBOS workflow whose id is `id`."""

    id: str
    conversation_id: str
    topic: str
    program: str
    queue_name: str
    status: RunStatus
    executions: int
    """How many times the workflow function started (first run, crash recoveries, redrives)."""
    attempts: int
    """Attempts made by the last step that ran (the failing step of a failed run)."""
    redrives: int
    error: str | None
    failed_step: int | None
    failed_node: str | None
    outcome: dict[str, Any] | None
    executor_id: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime
    steps: tuple[RunStepRecord, ...] = ()

    @property
    def failing_step(self) -> RunStepRecord | None:
        """The last attempt of the step that failed the run, if it is recorded."""
        failed = [s for s in self.steps if not s.ok and (self.failed_step is None or s.step == self.failed_step)]
        return failed[-1] if failed else None

    def to_json(self, *, with_steps: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "topic": self.topic,
            "program": self.program,
            "status": self.status,
            "executions": self.executions,
            "attempts": self.attempts,
            "redrives": self.redrives,
            "error": self.error,
            "failed_step": self.failed_step,
            "failed_node": self.failed_node,
            "outcome": self.outcome,
            "executor_id": self.executor_id,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "updated_at": self.updated_at.isoformat(),
        }
        failing = self.failing_step if self.status == "failed" else None
        data["failing_step"] = failing.to_json() if failing else None
        if with_steps:
            data["steps"] = [s.to_json() for s in self.steps]
        return data


@dataclass(frozen=True, slots=True)
class WorkerHeartbeat:
    executor_id: str
    hostname: str
    pid: int
    process_start: str | None
    agent: str | None
    app_version: str
    queue_name: str
    concurrency: int | None
    state: str
    started_epoch: float
    last_seen_epoch: float
    recovered_by: str | None
    recovery_claimed_epoch: float | None
    recovered_count: int | None


@dataclass(frozen=True, slots=True)
class RedriveResult:
    run_id: str
    from_step: int
    """The step the run resumes from; the steps before it are not repeated."""
    queue_name: str
