"""Drive a voice agent's conversation in-process, then assert on what happened.

    conv = Conversation("examples/contoso-support", env={"crm_BaseUrl": url})
    conv.start()
    conv.say("what's the status of my case")
    conv.press("12345#")
    conv.hang_up()
    assert conv.end.reason == "CUSTOMER_HANGUP"
    assert [r.topic for r in conv.post_call_runs] == ["Post-call CRM update", "Post-call log"]

Time comes from a FixedClock (each caller action moves it one second on; `silence()` moves it by
the listen timeout).  Backend actions run at once through the production action layer
(`postcall.actions`, real HTTP; a wait between retries advances the clock instead of sleeping); when
the conversation ends, its post-call topics run one after the other, each as a PostCallProgram.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.hosts import Resolver
from postcall.actions.inprocess import ActionCall, InProcessActions
from postcall.actions.retry import run_budget_spent
from postcall.clock import FixedClock
from postcall.diagnostics import render_all
from postcall.engine import (
    ConversationState,
    EndRecord,
    EndSnapshot,
    Engine,
    PostCallProgram,
    Recognizer,
    TurnResult,
)
from postcall.engine.activity import (
    Activity,
    AgentOutput,
    EmitActivity,
    EndSignal,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
    WatchdogSignal,
    output_to_json,
)
from postcall.errors import TopicError
from postcall.lifecycle.knowledge import open_agent_index
from postcall.lifecycle.programs import action_settings_for, register_model_key
from postcall.lifecycle.recognition import recognizer_actions, runtime_recognizer
from postcall.safetext import clean_text
from postcall.topics.agent import Agent
from postcall.topics.loader import load_agent
from postcall.vocabulary import ActivityType, ChannelEvent, EndReason, Initiator


def load(path: str | Path, env: Mapping[str, str] | None = None) -> Agent:
    """Load an agent or raise TopicError listing every error diagnostic."""
    result = load_agent(path, env_overrides=dict(env or {}))
    errors = [d for d in result.diagnostics if d.is_error]
    if result.agent is None or errors:
        raise TopicError(
            f"The agent at {path} has errors:\n{render_all(errors, result.sources)}", errors
        )
    return result.agent


@dataclass
class PostCallRun:
    """One post-call topic's run: its status, its steps (nodes with requests and results)."""

    topic: str
    status: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    requests: list[ActionRequest] = field(default_factory=list)
    results: list[ActionResult] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    """What failed out of the caller's hearing (engine/transcript.Note), e.g. a model call."""

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "status": self.status,
            "notes": self.notes,
            "error": self.error,
            "steps": self.steps,
            "warnings": self.warnings,
            "log": self.log,
        }


@dataclass
class TranscriptLine:
    who: str  # "caller" | "agent" | "system"
    text: str

    def to_json(self) -> dict[str, str]:
        return {"from": self.who, "text": self.text}


class Conversation:
    """An in-process conversation with an agent (see module docstring)."""

    def __init__(
        self,
        agent: Agent | str | Path,
        *,
        env: Mapping[str, str] | None = None,
        clock: FixedClock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        conversation_id: str = "test-conversation",
        recognizer: Recognizer | None = None,
        run_post_call: bool = True,
        in_test_mode: bool = True,
        channel_id: str = "test",
        step_seconds: float = 1.0,
    ) -> None:
        self.agent = agent if isinstance(agent, Agent) else load(agent, env)
        root = self.agent.root if self.agent.root.is_dir() else self.agent.root.parent
        register_model_key(self.agent)
        self.recognizer_actions = recognizer_actions(self.agent, transport=transport)
        self.engine = Engine(
            self.agent, recognizer=recognizer or runtime_recognizer(self.agent, self.recognizer_actions),
            knowledge=open_agent_index(root),
        )
        self.clock = clock or FixedClock()
        agent_ = self.agent
        self.actions = InProcessActions(
            lambda topic: action_settings_for(agent_, topic), transport=transport, sleep=self._wait,
            now=self._now, resolver=resolver,
        )
        self.conversation_id = conversation_id
        self.run_post_call = run_post_call
        self.channel_id = channel_id
        self.step_seconds = step_seconds
        self.state: ConversationState = self.engine.new_state(
            conversation_id, now=self.clock.now(), channel_id=channel_id, in_test_mode=in_test_mode
        )
        self.outputs: list[AgentOutput] = []
        self.transcript: list[TranscriptLine] = []
        self.results: list[TurnResult] = []
        self.end: EndRecord | None = None
        self.end_snapshot: EndSnapshot | None = None
        self.post_call_topics: tuple[str, ...] = ()
        """The post-call topics the engine selected when the call ended (run by `run_post_call_topics`)."""
        self.post_call_runs: list[PostCallRun] = []
        self.history: list[Activity] = []
        self._ids = itertools.count(1)

    # -- what happened ------------------------------------------------------------------------

    @property
    def replies(self) -> list[str]:
        """Everything the agent said, in order (message texts)."""
        return [o.text for o in self.outputs if isinstance(o, Say)]

    @property
    def transfers(self) -> list[Transfer]:
        return [o for o in self.outputs if isinstance(o, Transfer)]

    @property
    def events(self) -> list[EmitActivity]:
        return [o for o in self.outputs if isinstance(o, EmitActivity)]

    @property
    def hung_up(self) -> bool:
        return any(isinstance(o, HangUp) for o in self.outputs)

    @property
    def ended(self) -> bool:
        return self.state.end is not None

    @property
    def listening(self) -> Listen | None:
        """The Listen of the last turn, if the agent waits for the caller."""
        for result in reversed(self.results):
            if result.ignored:
                continue
            outputs = result.outputs
            return outputs[-1] if outputs and isinstance(outputs[-1], Listen) else None
        return None

    @property
    def action_calls(self) -> list[ActionCall]:
        return list(self.actions.calls)

    @property
    def telemetry(self) -> list[dict[str, Any]]:
        """The LogCustomTelemetryEvent events, in order (event_name, properties, ids)."""
        return [
            {
                "event_name": e.event_name,
                "properties": e.properties,
                "conversation_id": e.conversation_id,
                "topic": e.topic,
                "idempotency_key": e.idempotency_key,
            }
            for e in self.actions.events
        ]

    def run(self, topic: str) -> PostCallRun:
        """The post-call run of a topic (KeyError when it did not run)."""
        for run in self.post_call_runs:
            if run.topic == topic:
                return run
        raise KeyError(f"Post-call topic {topic!r} did not run; ran: {[r.topic for r in self.post_call_runs]}.")

    # -- driving ------------------------------------------------------------------------------

    def _activity(self, type_: ActivityType, **fields: Any) -> Activity:
        return Activity(
            type=type_,
            id=f"{self.conversation_id}-a{next(self._ids)}",
            timestamp=self.clock.now(),
            channel_id=self.channel_id,
            **fields,
        )

    def send(self, activity: Activity) -> TurnResult:
        """Send any activity; runs its backend actions, and post-call topics if it ended the call."""
        self.history.append(activity)
        result = self.engine.turn(self.state, activity, now=self.clock.now())
        return self._settle(result)

    def _settle(self, result: TurnResult) -> TurnResult:
        while True:
            self.results.append(result)
            self.state = result.state
            for note in result.notes:  # what failed out of the caller's hearing (chat shows it)
                self.transcript.append(TranscriptLine("system", f"[note: {note.text}]"))
            self._record(result.outputs)
            if result.pending is None:
                break
            action_result = self.actions.execute(result.pending)
            result = self.engine.resume(self.state, action_result, now=self.clock.now())
        if result.end is not None:
            self.end = result.end
            self.end_snapshot = result.end_snapshot
            self.post_call_topics = result.post_call_topics
            self.transcript.append(TranscriptLine("system", f"[call ended: {result.end.reason}]"))
            if self.run_post_call:
                self.run_post_call_topics()
        return result

    def _record(self, outputs: list[AgentOutput]) -> None:
        for output in outputs:
            self.outputs.append(output)
            if isinstance(output, Say):
                self.transcript.append(TranscriptLine("agent", output.text))
            elif isinstance(output, Transfer):
                target = output.target
                where = (
                    target.phone_number if isinstance(target, TransferToPhoneNumber)
                    else "an agent" if isinstance(target, TransferToAgent) else "?"
                )
                self.transcript.append(TranscriptLine("system", f"[transfer to {where}]"))
            elif isinstance(output, HangUp):
                self.transcript.append(TranscriptLine("system", "[agent hung up]"))

    def _now(self) -> float:
        """The clock the action layer reads budgets on: this conversation's, so waits spend them."""
        return self.clock.now().timestamp()

    async def _wait(self, seconds: float) -> None:
        """The wait between two attempts of an action: the conversation's clock moves on, no wall time passes."""
        self.clock.advance(seconds)

    def _tick(self, seconds: float | None = None) -> None:
        self.clock.advance(self.step_seconds if seconds is None else seconds)

    def _new_replies(self, before: int) -> list[str]:
        return [o.text for o in self.outputs[before:] if isinstance(o, Say)]

    def start(self) -> list[str]:
        """The call connects (a conversationUpdate); returns what the agent said."""
        before = len(self.outputs)
        self.send(self._activity(ActivityType.CONVERSATION_UPDATE, value={"membersAdded": ["caller"]}))
        return self._new_replies(before)

    def say(self, text: str, *, confidence: float | None = 0.9) -> list[str]:
        # as a webhook does (channels/): what UTF-8 cannot carry (a lone surrogate from invalid
        # bytes on `chat`'s terminal or `call --say`'s argv) becomes U+FFFD instead of a crash
        text = clean_text(text)
        before = len(self.outputs)
        self._tick()
        self.transcript.append(TranscriptLine("caller", text))
        self.send(self._activity(ActivityType.MESSAGE, text=text, confidence=confidence))
        return self._new_replies(before)

    def press(self, digits: str) -> list[str]:
        before = len(self.outputs)
        self._tick()
        self.transcript.append(TranscriptLine("caller", f"[pressed {digits}]"))
        self.send(self._activity(ActivityType.MESSAGE, dtmf=digits))
        return self._new_replies(before)

    def silence(self) -> list[str]:
        before = len(self.outputs)
        listen = self.listening
        timeout_ms = listen.silence_timeout_ms if listen is not None and listen.silence_timeout_ms else 5000
        self._tick(timeout_ms / 1000.0)
        self.transcript.append(TranscriptLine("caller", "[silence]"))
        self.send(self._activity(ActivityType.EVENT, name=str(ChannelEvent.SILENCE)))
        return self._new_replies(before)

    def unrecognized(self) -> list[str]:
        before = len(self.outputs)
        self._tick()
        self.transcript.append(TranscriptLine("caller", "[unrecognised speech]"))
        self.send(self._activity(ActivityType.EVENT, name=str(ChannelEvent.UNRECOGNIZED_SPEECH)))
        return self._new_replies(before)

    def event(self, name: str, value: Any = None) -> list[str]:
        before = len(self.outputs)
        self._tick()
        self.send(self._activity(ActivityType.EVENT, name=name, value=value))
        return self._new_replies(before)

    def hang_up(self, raw: str = "completed") -> EndRecord | None:
        """The caller hangs up (an endOfConversation from the channel)."""
        self._tick()
        self.transcript.append(TranscriptLine("caller", "[hung up]"))
        self.send(
            self._activity(
                ActivityType.END_OF_CONVERSATION,
                value=EndSignal(initiator=Initiator.CALLER, raw=raw).to_value(),
            )
        )
        return self.end

    def channel_error(self, raw: str = "failed") -> EndRecord | None:
        self._tick()
        self.send(
            self._activity(
                ActivityType.END_OF_CONVERSATION,
                value=EndSignal(initiator=Initiator.SYSTEM, reason=EndReason.CHANNEL_ERROR, raw=raw).to_value(),
            )
        )
        return self.end

    def transfer_result(self, outcome: str, raw: str | None = None) -> list[str]:
        """The channel reports how the pending transfer went: answered, busy, no-answer, failed."""
        before = len(self.outputs)
        self._tick()
        self.send(
            self._activity(
                ActivityType.EVENT,
                name=str(ChannelEvent.TRANSFER_RESULT),
                value={"outcome": outcome, "raw": raw or outcome},  # as typed: TransferReport reads it leniently
            )
        )
        return self._new_replies(before)

    def advance(self, seconds: float) -> EndRecord | None:
        """Let time pass; fires OnInactivity and the watchdog when due (as a lifecycle would)."""
        self.clock.advance(seconds)
        if self.engine.inactivity_due(self.state, self.clock.now()):
            self.send(self._activity(ActivityType.EVENT, name=str(ChannelEvent.INACTIVITY)))
        reason = self.engine.watchdog_due(self.state, self.clock.now())
        if reason is not None:
            self.send(
                self._activity(
                    ActivityType.EVENT, name=str(ChannelEvent.WATCHDOG), value=WatchdogSignal(reason).to_value()
                )
            )
        return self.end

    # -- post-call ----------------------------------------------------------------------------

    def run_post_call_topics(self) -> list[PostCallRun]:
        """Run every selected post-call topic once, in order (a failure does not stop the rest)."""
        if self.end_snapshot is None:
            return []
        for name in self.post_call_topics:
            self.post_call_runs.append(self._run_post_call(name))
        return self.post_call_runs

    def _run_post_call(self, topic: str) -> PostCallRun:
        assert self.end_snapshot is not None
        program = PostCallProgram(self.agent, topic, self.end_snapshot, engine=self.engine)
        requests: list[ActionRequest] = []
        results: list[ActionResult] = []
        # the run budget, counted from the run's start as a DBOS run counts it (durable/workflow.py)
        budget_s = action_settings_for(self.agent, topic).run_budget_s
        deadline = self._now() + budget_s
        spent: str | None = None
        request = program.start()
        while request is not None:
            requests.append(request)
            result = self.actions.execute(request, post_call=True, deadline=deadline)
            results.append(result)
            if result.error_category == "budget":
                spent = run_budget_spent(budget_s, request.node_id)
                break
            request = program.resume(result)
        outcome = program.outcome()
        return PostCallRun(
            topic=topic,
            status="failed" if spent is not None else outcome["status"],
            steps=outcome["steps"],
            requests=requests,
            results=results,
            log=outcome["log"],
            warnings=outcome["warnings"],
            error=spent if spent is not None else outcome["error"],
            notes=outcome["notes"],
        )

    # -- reports ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        end = self.end
        return {
            "conversation_id": self.conversation_id,
            "transcript": [line.to_json() for line in self.transcript if line.who != "system"],
            "events": [line.to_json() for line in self.transcript],
            "outputs": [output_to_json(o) for o in self.outputs],
            "end": (
                {"reason": str(end.reason), "initiator": str(end.initiator), "detail": end.detail()}
                if end is not None else None
            ),
            "post_call_runs": [run.to_json() for run in self.post_call_runs],
        }

    def close(self) -> None:
        self.actions.close()
        self.recognizer_actions.close()

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

