"""The admin API's response models: what `/openapi.json` describes and what the console renders."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from postcall.vocabulary import RunStatus

ConversationStatus = Literal["live", "ended"]
TimelineKind = Literal["caller", "agent", "transfer", "end", "event", "recognition", "note"]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(Model):
    """An error answer: `detail` says what was wrong, naming the field for bad input."""

    detail: str
    errors: list[dict[str, Any]] | None = None


class RunCounts(Model):
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0


class ConversationSummary(Model):
    id: str
    agent: str
    channel: str
    caller: str | None
    status: ConversationStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None = Field(description="System.Conversation.EndReason once ended.")
    duration_seconds: float | None


class ConversationPage(Model):
    items: list[ConversationSummary]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Pass as `offset` for the next page; null on the last.")


class TimelineEntry(Model):
    """One line of the conversation's timeline, derived from its activity history."""

    seq: int
    at: dt.datetime
    kind: TimelineKind
    text: str
    detail: dict[str, Any] = Field(default_factory=dict)
    heard: str | None = Field(default=None, description="What the caller heard (the speak text), when it differs from the display text.")
    ignored: bool = Field(default=False, description="True for a caller or provider event that arrived after the end: recorded, not acted on.")
    explanation: str | None = Field(default=None, description="The provider status of this entry in words.")


class ActivityOut(Model):
    """One stored activity: inbound (from the channel) or outbound (what the agent did)."""

    seq: int
    at: dt.datetime
    direction: Literal["in", "out"]
    type: str
    activity: dict[str, Any]


class EndRecordOut(Model):
    reason: str | None
    initiator: str | None
    source: str | None
    raw: str | None
    raw_explained: str | None = Field(default=None, description="The provider status in words.")
    ended_at: dt.datetime | None
    duration_seconds: float | None
    record: dict[str, Any] = Field(description="The end record as stored (secrets redacted).")


class RunSummary(Model):
    id: str
    conversation_id: str
    topic: str
    status: RunStatus
    executions: int
    attempts: int = Field(description="Attempts made by the last step that ran.")
    redrives: int
    error: str | None
    failed_step: int | None
    failed_node: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime


class ConversationDetail(ConversationSummary):
    transcript: list[TimelineEntry]
    activities: list[ActivityOut]
    variables: dict[str, Any] = Field(
        description="The variables as they stood at the last saved turn: Global, System, Topic."
    )
    end_record: EndRecordOut | None
    runs: list[RunSummary]


class AttemptOut(Model):
    attempt: int
    at: dt.datetime
    ok: bool
    duration_ms: float | None
    error: str | None
    error_category: str | None  # as stored (older rows may hold retired categories)
    retry_in_s: float | None
    request: dict[str, Any] | None = Field(description="What was sent, secrets redacted.")
    response: dict[str, Any] | None = Field(description="What came back, secrets redacted.")


class StepOut(Model):
    step: int
    node_id: str
    display_name: str | None = Field(default=None, description="The node's displayName in its topic, if it has one.")
    kind: str
    idempotency_key: str
    status: Literal["succeeded", "failed", "retrying"] = Field(
        description="The last attempt's: retrying while a failed attempt will be tried again (the run is not over)."
    )
    attempts: list[AttemptOut]


class RunDetail(RunSummary):
    program: str
    outcome: dict[str, Any] | None
    executor_id: str | None
    steps: list[StepOut]


class RunPage(Model):
    items: list[RunSummary]
    limit: int
    offset: int
    next_offset: int | None
    counts: RunCounts = Field(description="All runs by status (not only this page).")


class RedriveOut(Model):
    run_id: str
    from_step: int = Field(description="The step the run resumes from; earlier steps are not repeated.")
    status: RunStatus
    message: str


class DiagnosticOut(Model):
    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    path: str | None
    line: int | None
    column: int | None
    hint: str | None


class TriggerOut(Model):
    kind: str
    activity_type: str | None = Field(description="OnActivity's `type` (EndOfConversation...).")
    event_name: str | None
    condition: str | None = Field(description="The trigger's Power Fx condition, as written.")
    priority: int
    trigger_queries: list[str]
    supported: bool


class TopicOut(Model):
    name: str
    schema_name: str
    path: str
    post_call: bool = Field(description="Runs after the call ends (OnActivity EndOfConversation).")
    trigger: TriggerOut
    node_count: int
    diagnostics: list[DiagnosticOut]


class TopicsOut(Model):
    agent: str | None
    topics: list[TopicOut]
    diagnostics: list[DiagnosticOut] = Field(description="Every load diagnostic of the agent.")


class HealthOut(Model):
    status: Literal["ok"]


class ReadyCheck(Model):
    ok: bool
    detail: str


class ReadyOut(Model):
    status: Literal["ready", "not ready"]
    checks: dict[str, ReadyCheck]


class EndReasonBucket(Model):
    start: dt.datetime
    end: dt.datetime
    counts: dict[str, int] = Field(description="Calls that ended in this bucket, by end reason.")


class SummaryOut(Model):
    """The dashboard's figures over a window (`24h`, `7d` or `30d`)."""

    window: Literal["24h", "7d", "30d"]
    window_start: dt.datetime
    window_end: dt.datetime
    live_conversations: int
    ended_in_window: int
    ends_by_reason: dict[str, int]
    buckets: list[EndReasonBucket]
    runs_succeeded_in_window: int
    runs_failed_in_window: int
    success_rate: float | None = Field(
        description="Succeeded / finished post-call runs in the window; null when none finished."
    )
    failed_runs: int = Field(description="Runs failed now, waiting for a redrive.")
    run_counts: RunCounts
    queue_depth: int
    oldest_pending_age_seconds: float
    live_executors: int
