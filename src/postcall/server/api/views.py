"""Store records to API models: the timeline of a call, its variables, its end, its runs step by step.

Everything shown passes through `redact_json` once more on the way out, so a secret that
reached the store under a secret-looking name (a header, a token variable) never reaches a browser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from postcall.diagnostics import Diagnostic
from postcall.engine.values import decode, to_plain
from postcall.redaction import redact_json, redact_text
from postcall.server.api.models import (
    ActivityOut,
    AttemptOut,
    ConversationDetail,
    ConversationSummary,
    DiagnosticOut,
    EndRecordOut,
    RunDetail,
    RunSummary,
    StepOut,
    TimelineEntry,
    TopicOut,
    TriggerOut,
)
from postcall.server.api.provider_status import explain as explain_status
from postcall.store import ActivityRecord, Conversation, Run, RunStepRecord
from postcall.topics import Agent
from postcall.vocabulary import ActivityType, ChannelEvent, OutputKind, StoredKind

TRANSFER_OUTCOME_TEXT = {
    "answered": "Transfer answered",
    "busy": "Transfer target busy",
    "no-answer": "Transfer not answered",
    "failed": "Transfer failed",
    "canceled": "Transfer canceled",
    "abandoned": "Caller hung up while the transfer rang",
}


def _duration(started: dt.datetime, ended: dt.datetime | None) -> float | None:
    if ended is None:
        return None
    return round(max((ended - started).total_seconds(), 0.0), 3)


def conversation_summary(conv: Conversation) -> ConversationSummary:
    return ConversationSummary(
        id=conv.id,
        agent=conv.agent,
        channel=conv.channel,
        caller=conv.caller,
        status=conv.status,
        started_at=conv.started_at,
        ended_at=conv.ended_at,
        end_reason=conv.end_reason,
        duration_seconds=_duration(conv.started_at, conv.ended_at),
    )


def conversation_detail(
    conv: Conversation, history: Sequence[ActivityRecord], runs: Sequence[Run]
) -> ConversationDetail:
    return ConversationDetail(
        **conversation_summary(conv).model_dump(),
        transcript=timeline(history),
        activities=[
            ActivityOut(
                seq=a.seq,
                at=a.at,
                direction="out" if a.direction == "out" else "in",
                type=a.type,
                activity=redact_json(a.activity),
            )
            for a in history
        ],
        variables=variables_of(conv.state),
        end_record=end_record_of(conv),
        runs=[run_summary(r) for r in runs],
    )


# ----------------------------------------------------------------------------------------------
# Timeline


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _entry(record: ActivityRecord) -> TimelineEntry | None:
    data = _map(record.activity)
    kind = str(data.get("type") or record.type)
    base: dict[str, Any] = {"seq": record.seq, "at": record.at}
    if record.direction == "out":
        return _outbound(kind, data, base)
    return _inbound(kind, record.type, data, base)


def _outbound(kind: str, data: Mapping[str, Any], base: dict[str, Any]) -> TimelineEntry | None:
    if kind in (OutputKind.SAY, ActivityType.MESSAGE):
        shown, spoken = _text(data.get("text")), _text(data.get("speak"))
        heard = spoken if spoken and shown and spoken.strip() != shown.strip() else None
        return TimelineEntry(**base, kind="agent", text=shown or spoken, heard=heard)
    if kind == OutputKind.LISTEN:
        return None  # the agent waiting for the caller is not an event worth a line
    if kind == StoredKind.RECOGNITION:
        tops = ", ".join(
            f"{c.get('topic')} {float(c.get('score') or 0):.2f}"
            for c in data.get("candidates") or [] if isinstance(c, Mapping)
        )
        text = f"Recognizer: {data.get('outcome')} - {_text(data.get('reason'))}"
        taken = _map(data.get("taken"))
        done = f"; engine: {_text(taken.get('why'))}" if taken.get("why") else ""
        return TimelineEntry(**base, kind="recognition", text=text + (f" [{tops}]" if tops else "") + done,
                             detail=dict(data))
    if kind == StoredKind.NOTE:
        return TimelineEntry(**base, kind="note", text=_text(data.get("text")),
                             detail=redact_json({k: data.get(k) for k in ("topic", "node", "detail")}))
    if kind == OutputKind.TRANSFER:
        target = _map(data.get("target"))
        if target.get("type") == "TransferToAgent" or "phone_number" not in target:
            text = "Hand-off to the contact center"
            if target.get("message_to_agent"):
                text += f": {target.get('message_to_agent')}"
        else:
            text = f"Transfer to {target.get('phone_number')}"
        return TimelineEntry(**base, kind="transfer", text=text, detail=redact_json(dict(target)))
    if kind == OutputKind.HANG_UP:
        return TimelineEntry(**base, kind="agent", text="The agent hangs up.")
    if kind == OutputKind.EMIT_ACTIVITY:
        name = data.get("name") or data.get("type_") or "activity"
        return TimelineEntry(**base, kind="event", text=f"Agent sent {name}",
                             detail=redact_json({"value": data.get("value")}))
    return TimelineEntry(**base, kind="event", text=f"Agent output {kind}")


def _inbound(kind: str, stored_type: str, data: Mapping[str, Any], base: dict[str, Any]) -> TimelineEntry:
    if ActivityType.END_OF_CONVERSATION in (stored_type, kind):
        if data.get("duplicate"):
            end = _map(data.get("end"))
            return TimelineEntry(**base, kind="event",
                                 text=f"A second end ({end.get('reason') or 'no reason'}) was ignored")
        reason = data.get("reason")
        if reason is None and isinstance(data.get("value"), Mapping):
            # an endOfConversation activity from the channel: the raw signal, before the engine's end
            value = data["value"]
            who = value.get("initiator") or "channel"
            return TimelineEntry(**base, kind="event", text=f"Call ended by the {who}",
                                 detail=redact_json(dict(value)))
        initiator = data.get("initiator")
        text = f"Call ended: {reason}" + (f" (by the {initiator})" if initiator else "")
        return TimelineEntry(**base, kind="end", text=text, detail=redact_json(dict(data)),
                             explanation=explain_status(_raw_of(data)))
    if kind == ActivityType.MESSAGE:
        said = _text(data.get("text"))
        dtmf = _text(data.get("dtmf"))
        text = said or (f"Keyed {dtmf}" if dtmf else "(empty)")
        detail: dict[str, Any] = {}
        if data.get("confidence") is not None:
            detail["confidence"] = data.get("confidence")
        if said and dtmf:
            detail["dtmf"] = dtmf
        return TimelineEntry(**base, kind="caller", text=text, detail=detail)
    if kind == ActivityType.EVENT:
        name = _text(data.get("name"))
        value = data.get("value")
        if name == ChannelEvent.TRANSFER_RESULT and isinstance(value, Mapping):
            outcome = str(value.get("outcome") or "")
            raw = value.get("raw")
            return TimelineEntry(**base, kind="transfer",
                                 text=TRANSFER_OUTCOME_TEXT.get(outcome, f"Transfer {outcome}"),
                                 detail=redact_json(dict(value)),
                                 explanation=explain_status(raw if isinstance(raw, str) else None))
        if name == ChannelEvent.SILENCE:
            return TimelineEntry(**base, kind="event", text="Silence: the caller said nothing")
        if name == ChannelEvent.UNRECOGNIZED_SPEECH:
            return TimelineEntry(**base, kind="event", text="Speech heard but not recognised")
        if name == ChannelEvent.WATCHDOG and isinstance(value, Mapping):
            return TimelineEntry(**base, kind="event", text=f"Watchdog: {value.get('reason')}")
        return TimelineEntry(**base, kind="event", text=f"Event {name or '(unnamed)'}",
                             detail=redact_json({"value": value}))
    if kind == ActivityType.CONVERSATION_UPDATE:
        return TimelineEntry(**base, kind="event", text="Call started")
    return TimelineEntry(**base, kind="event", text=f"Activity {kind}")


def _raw_of(data: Mapping[str, Any]) -> str | None:
    raw = _map(data.get("detail")).get("raw") or data.get("raw")
    return raw if isinstance(raw, str) else None


def timeline(history: Iterable[ActivityRecord]) -> list[TimelineEntry]:
    """The conversation as a person reads it: caller, agent, transfers, the end.

    What the caller or the provider sent after the end is kept in the history (it shows what
    happened) but changed nothing: those entries are marked `ignored`.
    """
    entries = []
    ended = False
    for record in history:
        entry = _entry(record)
        if entry is None:
            continue
        if ended and record.direction != "out" and entry.kind != "end":
            entry = entry.model_copy(update={"ignored": True})
        if entry.kind == "end":
            ended = True
        entries.append(entry)
    return entries


# ----------------------------------------------------------------------------------------------
# Variables and end record


def _plain(encoded: Any) -> Any:
    try:
        return to_plain(decode(encoded))
    except Exception:  # a value the engine's codec does not know: show it as stored
        return encoded


def _plain_vars(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, Mapping):
        return {}
    return {str(name): _plain(value) for name, value in variables.items()}


def variables_of(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """Global, System and Topic variables of a saved engine state, as plain JSON, redacted."""
    if not isinstance(state, Mapping):
        return {}
    topics: dict[str, Any] = {}
    for frame in state.get("stack") or []:
        if isinstance(frame, Mapping) and frame.get("variables"):
            topics[str(frame.get("topic"))] = _plain_vars(frame.get("variables"))
    found = {
        "Global": _plain_vars(state.get("globals")),
        "System": _plain_vars(state.get("system")),
        "Topic": topics,
    }
    return dict(_map(redact_json(found)))


def end_record_of(conv: Conversation) -> EndRecordOut | None:
    record = conv.end_record
    if not isinstance(record, Mapping):
        return None
    detail = _map(record.get("detail"))
    duration = detail.get("duration_seconds")
    return EndRecordOut(
        reason=str(record.get("reason")) if record.get("reason") else conv.end_reason,
        initiator=_str_or_none(record.get("initiator") or detail.get("initiator")),
        source=_str_or_none(detail.get("source")),
        raw=_str_or_none(detail.get("raw")),
        raw_explained=explain_status(_str_or_none(detail.get("raw"))),
        ended_at=conv.ended_at,
        duration_seconds=float(duration) if isinstance(duration, int | float) else _duration(
            conv.started_at, conv.ended_at
        ),
        record=dict(_map(redact_json(dict(record)))),
    )


def _redacted_text(text: str | None) -> str | None:
    """A run's or an attempt's error through the one redaction (an endpoint may echo a key)."""
    return None if text is None else redact_text(text)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# ----------------------------------------------------------------------------------------------
# Runs


def run_summary(run: Run) -> RunSummary:
    return RunSummary(
        id=run.id,
        conversation_id=run.conversation_id,
        topic=run.topic,
        status=run.status,
        executions=run.executions,
        attempts=run.attempts,
        redrives=run.redrives,
        error=_redacted_text(run.error),
        failed_step=run.failed_step,
        failed_node=run.failed_node,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        updated_at=run.updated_at,
    )


def _attempt(record: RunStepRecord) -> AttemptOut:
    return AttemptOut(
        attempt=record.attempt,
        at=record.at,
        ok=record.ok,
        duration_ms=record.duration_ms,
        error=_redacted_text(record.error),
        error_category=record.error_category,
        retry_in_s=record.retry_in_s,
        request=redact_json(record.request) if record.request is not None else None,
        response=redact_json(record.response) if record.response is not None else None,
    )


NodeNames = Callable[[str], str | None]
"""node id -> the node's displayName in the run's topic (None when it has none)."""


def steps_of(records: Sequence[RunStepRecord], *, run_status: str = "failed", names: NodeNames | None = None) -> list[StepOut]:
    """Attempts grouped by step, in step order; a step's status is its last attempt's.

    A failed last attempt of a run that is not over (pending or running) is `retrying`: the
    step will be tried again, it has not failed the run (docs/console.md: amber, not red).
    """
    by_step: dict[int, list[RunStepRecord]] = {}
    for record in records:
        by_step.setdefault(record.step, []).append(record)
    steps = []
    for number in sorted(by_step):
        attempts = sorted(by_step[number], key=lambda r: (r.at, r.attempt))
        last = attempts[-1]
        status: Literal["succeeded", "failed", "retrying"] = "succeeded" if last.ok else (
            "retrying" if run_status in ("pending", "running") else "failed"
        )
        steps.append(
            StepOut(
                step=number,
                node_id=last.node_id,
                display_name=names(last.node_id) if names is not None else None,
                kind=last.kind,
                idempotency_key=last.idempotency_key,
                status=status,
                attempts=[_attempt(a) for a in attempts],
            )
        )
    return steps


def node_names(agent: Agent | None, topic: str) -> NodeNames | None:
    """A look-up of display names in the run's topic of the served agent (None without one)."""
    found = agent.find_topic(topic) if agent is not None else None
    if found is None:
        return None
    names = {node.id: node.display_name for node in found.walk() if node.display_name}
    return names.get


def run_detail(run: Run, agent: Agent | None = None) -> RunDetail:
    return RunDetail(
        **run_summary(run).model_dump(),
        program=run.program,
        outcome=redact_json(run.outcome) if run.outcome is not None else None,
        executor_id=run.executor_id,
        steps=steps_of(run.steps, run_status=run.status, names=node_names(agent, run.topic)),
    )


# ----------------------------------------------------------------------------------------------
# Topics


def diagnostic_out(diag: Diagnostic) -> DiagnosticOut:
    return DiagnosticOut(
        code=diag.code,
        severity=diag.severity.value,
        message=diag.message,
        path=diag.span.path if diag.span else None,
        line=diag.span.line if diag.span else None,
        column=diag.span.column if diag.span else None,
        hint=diag.hint,
    )


def topics_of(agent: Agent | None, diagnostics: Sequence[Diagnostic]) -> list[TopicOut]:
    """Each topic of the agent with its trigger and the diagnostics that point into its file."""
    if agent is None:
        return []
    root = str(agent.root)
    found = []
    for topic in agent.topics.values():
        trigger = topic.trigger
        path = str(topic.path)
        own = [d for d in diagnostics if d.span is not None and _same_file(d.span.path, path, root)]
        found.append(
            TopicOut(
                name=topic.name,
                schema_name=topic.schema_name,
                path=path,
                post_call=bool(trigger.is_end_of_conversation),
                trigger=TriggerOut(
                    kind=trigger.kind,
                    activity_type=trigger.type,
                    event_name=trigger.event_name,
                    condition=trigger.condition.text if trigger.condition is not None else None,
                    priority=trigger.priority,
                    trigger_queries=list(trigger.trigger_queries),
                    supported=trigger.supported,
                ),
                node_count=sum(1 for _ in topic.walk()),
                diagnostics=[diagnostic_out(d) for d in own],
            )
        )
    return found


def _same_file(diag_path: str, topic_path: str, root: str) -> bool:
    if diag_path == topic_path:
        return True
    norm_diag = diag_path.replace("\\", "/")
    norm_topic = topic_path.replace("\\", "/")
    if root and norm_diag.startswith(root.rstrip("/") + "/"):
        norm_diag = norm_diag[len(root.rstrip("/")) + 1 :]
    return norm_diag == norm_topic or norm_diag.endswith("/" + norm_topic)
