"""Engine: the pure turn function.  (state, activity, now) -> (new state, outputs, requests, end).

`Engine(agent).turn(state, activity, now=...)` never mutates `state`: it works on a copy and
returns the new state in the `TurnResult`.  It does no I/O and reads no clock.  A backend node in
an in-call topic suspends the turn with `TurnResult.pending` (an ActionRequest); the caller
carries it out and continues the same turn with `engine.resume(state, result, now=...)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.diagnostics import TextOrigin
from postcall.engine import transcript
from postcall.engine.activity import (
    Activity,
    AgentOutput,
    EndSignal,
    Say,
    TransferReport,
    WatchdogSignal,
)
from postcall.engine.dtmf import clean_digits
from postcall.engine.ending import (
    EndRecord,
    end_from_channel,
    end_from_timeout,
    end_from_transfer_answered,
)
from postcall.engine.faults import RUN_STATE, LogEntry, RuntimeFault
from postcall.engine.interpreter import (
    SELECT_INTENT,
    LatencyMessage,
    Runner,
    Stop,
    set_transfer_variables,
)
from postcall.engine.nodes import NODE_KINDS, apply_result
from postcall.engine.nodes.question import (
    accept,
    after,
    is_free_text,
    listen_for,
    no_match,
    on_silence,
    question_node,
    recognize_answer,
)
from postcall.engine.program import Program, compile_topic
from postcall.engine.recognizer import (
    DecidingRecognizer,
    Decision,
    IntentCandidate,
    IntentMatch,
    PhraseRecognizer,
    Recognition,
    Recognizer,
    asks_remotely,
    reads_descriptions,
)
from postcall.engine.selectintent import DEFAULT_SELECT_INTENT, intent_options, ran
from postcall.engine.selection import select_topics
from postcall.engine.state import ConversationState, EndSnapshot, Frame
from postcall.engine.transcript import Note
from postcall.engine.triggers import (
    agent_intent_candidates,
    decide_intent,
    mark_fired,
    recognize,
    select_activity,
    select_dtmf,
    select_event,
    select_intent_topic,
    select_simple,
    took,
)
from postcall.errors import EngineError
from postcall.knowledge.types import KnowledgeSearch
from postcall.powerfx import Formula, Template, parse_formula, parse_template
from postcall.powerfx.values import Value
from postcall.topics.agent import Agent
from postcall.topics.model import Expr, Node, TextTemplate, Topic
from postcall.topics.schema_data import ENUMS
from postcall.vocabulary import ActivityType, ChannelEvent, EndReason, TransferOutcome

DEFAULT_FALLBACK = "Sorry, I didn't catch that. Could you say it another way?"

_PASCAL = {
    ActivityType.MESSAGE: "Message",
    ActivityType.EVENT: "Event",
    ActivityType.CONVERSATION_UPDATE: "ConversationUpdate",
    ActivityType.END_OF_CONVERSATION: "EndOfConversation",
    ActivityType.INVOKE: "Invoke",
    ActivityType.TYPING: "Typing",
    ActivityType.HANDOFF: "Handoff",
    ActivityType.TRACE: "Trace",
}


@dataclass(frozen=True)
class TurnResult:
    """What a turn (or a resume) produced.

    `outputs` in order (a turn that waits for the caller ends with a `Listen`).  `pending` is the
    backend action the turn is suspended on (resume with its result).  `end` is set on the one
    turn that ended the conversation, with `end_activity` (the End of conversation activity) and
    `end_snapshot` (what post-call topics see).  `latency_message` is the pending backend
    node's "please wait" message (latencyMessageSettings), for the caller to play if the action
    takes longer than its delay.  `ignored` is True when the activity changed
    nothing (it came after the end, or while a transfer rang); the state records it anyway.
    """

    state: ConversationState
    outputs: list[AgentOutput] = field(default_factory=list)
    pending: ActionRequest | None = None
    end: EndRecord | None = None
    log: list[LogEntry] = field(default_factory=list)
    end_activity: Activity | None = None
    end_snapshot: EndSnapshot | None = None
    ignored: bool = False
    latency_message: LatencyMessage | None = None
    recognitions: list[Recognition] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    """The recogniser's decisions with what it was asked (for `Engine.turn(recorded=...)`)."""
    notes: list[Note] = field(default_factory=list)
    """Lines for the conversation's history that nobody said (a failed model call)."""
    steps: list[dict[str, Any]] = field(default_factory=list)  # nodes run: topic, node, kind
    post_call_topics: tuple[str, ...] = ()
    """On the turn that ended the call: the post-call topics to run, in order (their triggers'
    conditions evaluated against `end_snapshot`)."""

    @property
    def action_requests(self) -> list[ActionRequest]:
        return [self.pending] if self.pending is not None else []


def closed_list_option_sets(agent: Agent) -> dict[str, dict[str, Value]]:
    """Closed-list questions as option sets, so `'<question id>'.<option id>` reads in formulas.

    A chosen option is stored as its display name (text); each option set maps an item's id and
    display name to that text.  Sets are named by the question id, `<schema>.main.<question id>`
    and the entity's display name (`Agent.option_sets`).
    """
    sets: dict[str, dict[str, Value]] = {}
    for name, entity in agent.option_sets().items():
        members: dict[str, Value] = {}
        for item in entity.items:
            members[item.id] = item.display_name
            members.setdefault(item.display_name, item.display_name)
        sets[name] = members
    return sets


def system_option_sets() -> dict[str, dict[str, Value]]:
    """Copilot Studio's own option sets (SignInReason, ChannelId, VariablesToClear...): each
    member reads as its name, which is what the matching System variables hold
    (System.Activity.Channel is "Telephony" on a call)."""
    names = ENUMS.get("SystemOptionSetName", ())
    return {name: {m: m for m in ENUMS.get(name, ())} for name in names if ENUMS.get(name)}


class Engine:
    """Runs an agent's in-call topics.  One Engine serves any number of conversations."""

    def __init__(
        self, agent: Agent, *, recognizer: Recognizer | None = None, knowledge: KnowledgeSearch | None = None
    ) -> None:
        """`recognizer` picks topics from what the caller says; without one, the lexical
        PhraseRecognizer (the runtime passes `postcall.understanding.recognizer_for(agent)`,
        the embedded one by default).  A recogniser with `prepare` is prepared here, once."""
        self.agent = agent
        self.recognizer: Recognizer = recognizer or PhraseRecognizer()
        self.nodes = NODE_KINDS
        self.knowledge = knowledge
        """The agent's knowledge index (postcall.knowledge), searched by generative answers; None: no sources."""
        self.intent_candidates: tuple[IntentCandidate, ...] = tuple(
            agent_intent_candidates(agent, described=reads_descriptions(self.recognizer))
        )
        if isinstance(self.recognizer, DecidingRecognizer):
            self.recognizer.prepare(self.intent_candidates)
        self.builtin_topics: dict[str, Topic] = {}
        self._programs: dict[str, Program] = {}
        self._nodes: dict[str, dict[str, Node]] = {}
        self.enums = {**system_option_sets(), **closed_list_option_sets(agent)}
        self._formulas: dict[str, Formula | None] = {}
        self._templates: dict[str, Template | None] = {}

    # ------------------------------------------------------------------------------------------
    # topics

    def topic(self, name: str) -> Topic:
        topic = self.agent.topics.get(name) or self.builtin_topics.get(name)
        if topic is None:
            raise RuntimeFault(
                f"The saved conversation is in topic {name!r}, which the agent no longer has.",
                code=RUN_STATE, error_code="InvalidState", topic=name,
            )
        return topic

    def program(self, name: str) -> Program:
        program = self._programs.get(name)
        if program is None:
            program = compile_topic(self.topic(name))
            self._programs[name] = program
        return program

    def formula(self, expr: Expr) -> Formula | None:
        """The compiled formula of a field (None when it did not parse; the loader said why)."""
        found = expr.formula
        if found is None or isinstance(found, Formula):
            return found
        # The topic model may carry another implementation's formula object; compile our own.
        if expr.text not in self._formulas:
            text = expr.text[1:] if expr.text.startswith("=") else expr.text
            origin = TextOrigin(expr.span.path, expr.span.line, expr.span.column + 1)
            self._formulas[expr.text] = parse_formula(text, origin).formula
        return self._formulas[expr.text]

    def template(self, template: TextTemplate) -> Template | None:
        found = template.template
        if found is None or isinstance(found, Template):
            return found
        if template.text not in self._templates:
            origin = TextOrigin(template.span.path, template.span.line, template.span.column)
            self._templates[template.text] = parse_template(template.text, origin).template
        return self._templates[template.text]

    def node(self, topic: str, node_id: str) -> Node | None:
        index = self._nodes.get(topic)
        if index is None:
            index = {n.id: n for n in self.topic(topic).walk()}
            self._nodes[topic] = index
        return index.get(node_id)

    # ------------------------------------------------------------------------------------------
    # state

    def new_state(
        self,
        conversation_id: str,
        *,
        now: dt.datetime,
        channel_id: str = "test",
        in_test_mode: bool = False,
        user_id: str | None = None,
        user_name: str | None = None,
    ) -> ConversationState:
        """A fresh conversation (nothing has happened yet; send a conversationUpdate to start)."""
        state = ConversationState.new(
            conversation_id,
            agent=self.agent.name,
            now=now,
            channel_id=channel_id,
            in_test_mode=in_test_mode,
            user_id=user_id,
            user_name=user_name,
        )
        runner = Runner(self, state, now=now)
        for name, default in self.agent.global_variables.items():
            if default is not None:
                try:
                    state.globals[name] = runner.eval(default, None, what=f"the default of Global.{name}")
                except RuntimeFault:
                    state.globals[name] = None
        return state

    # ------------------------------------------------------------------------------------------
    # turns

    def turn(
        self,
        state: ConversationState,
        activity: Activity,
        *,
        now: dt.datetime,
        ids: Callable[[], str] | None = None,
        recorded: Sequence[Decision] = (),
    ) -> TurnResult:
        """Handle one activity.  Pure: `state` is not changed; the result holds the new state.

        `recorded` is the `decisions` of this same turn worked out before (from another state):
        the recogniser is not asked again what it already decided (see `Decision`).
        """
        st = state.copy()
        r = Runner(self, st, now=now, ids=ids, recorded=recorded)
        if st.end is not None:
            return self._ignore(r, activity, "the conversation has ended")
        kind = activity.type
        if kind is ActivityType.END_OF_CONVERSATION:
            self._note_activity(st, activity, now)
            record = end_from_channel(
                EndSignal.from_value(activity.value), transfer=st.transfer, started_at=st.started_at, at=now,
                activity_id=activity.id,
            )
            r.end_conversation(record)
            return self._result(r, Stop.END)
        if kind is ActivityType.EVENT and activity.name == ChannelEvent.WATCHDOG:
            self._note_activity(st, activity, now)
            return self._result(r, self._watchdog(r, activity))
        if kind is ActivityType.EVENT and activity.name == ChannelEvent.TRANSFER_RESULT:
            return self._transfer_result(r, activity)
        if st.transfer is not None and st.transfer.ringing:
            return self._ignore(r, activity, "a transfer is in progress")
        if st.pending is not None:
            return self._ignore(r, activity, "the conversation waits for a backend action")
        self._note_activity(st, activity, now)
        st.turns += 1
        if kind is ActivityType.MESSAGE:
            transcript.note(st, "caller", activity.text or (f"(pressed {activity.dtmf})" if activity.dtmf else None), now)
            return self._result(r, self._message(r, activity))
        if kind is ActivityType.CONVERSATION_UPDATE:
            return self._result(r, self._conversation_update(r))
        if kind is ActivityType.EVENT:
            return self._result(r, self._event(r, activity))
        r.start_topics([(t, "activity") for t in select_activity(r, _PASCAL.get(kind, str(kind)))])
        return self._result(r, r.run())

    def resume(
        self,
        state: ConversationState,
        result: ActionResult,
        *,
        now: dt.datetime,
        ids: Callable[[], str] | None = None,
    ) -> TurnResult:
        """Continue a suspended turn with the result of its pending backend action."""
        st = state.copy()
        r = Runner(self, st, now=now, ids=ids)
        pending = st.pending
        if st.end is not None or pending is None:
            why = "the conversation has ended" if st.end is not None else "no action is pending"
            r.warn(f"action result ignored: {why}")
            return TurnResult(state=st, log=r.log, ignored=True)
        st.pending = None
        depth = int(pending.get("depth", len(st.stack) - 1))
        frame = st.stack[depth] if 0 <= depth < len(st.stack) else None
        node = (
            self.node(frame.topic, pending["node_id"])
            if frame is not None and frame.topic == pending.get("topic")
            else None
        )
        if frame is None or node is None:
            raise EngineError(
                f"The pending action {pending.get('node_id')!r} does not match the saved dialog "
                "stack; the agent's topics changed while the conversation waited.",
                conversation_id=st.conversation_id,
                topic=pending.get("topic"),
                node=pending.get("node_id"),
            )
        try:
            flow = apply_result(r, frame, node, result)
            stop = after(r, frame, flow)
        except RuntimeFault as fault:
            r.on_fault(fault)
            stop = r.run()
        return self._result(r, stop)

    # ------------------------------------------------------------------------------------------
    # timers

    def watchdog_due(self, state: ConversationState, now: dt.datetime) -> EndReason | None:
        """The end a watchdog should force now (MAX_DURATION or INACTIVITY_TIMEOUT), or None.

        Limits come from agent.yaml `limits:` (`max_duration_seconds`, `idle_timeout_seconds`;
        0 or less disables one).  Idle time counts from the caller's last message.
        """
        if state.end is not None:
            return None
        limits = self.agent.config.limits
        if limits.max_duration_seconds > 0 and (now - state.started_at).total_seconds() >= limits.max_duration_seconds:
            return EndReason.MAX_DURATION
        idle_since = state.last_caller_at or state.started_at
        if limits.idle_timeout_seconds > 0 and (now - idle_since).total_seconds() >= limits.idle_timeout_seconds:
            return EndReason.INACTIVITY_TIMEOUT
        return None

    def _inactivity_seconds(self, state: ConversationState) -> list[float]:
        runner = Runner(self, state.copy(), now=state.last_activity_at or state.started_at)
        out: list[float] = []
        for topic in self.agent.topics.values():
            if topic.trigger.kind != "OnInactivity":
                continue
            try:
                seconds = runner.eval_int(topic.trigger.duration_seconds, None, default=topic.trigger.DEFAULT_INACTIVITY_SECONDS, what="durationInSeconds")
            except RuntimeFault:
                continue
            out.append(float(seconds if seconds is not None else topic.trigger.DEFAULT_INACTIVITY_SECONDS))
        return out

    def inactivity_due(self, state: ConversationState, now: dt.datetime) -> bool:
        """Whether an OnInactivity topic is due (send a ChannelEvent.INACTIVITY event)."""
        if state.end is not None or state.inactivity_fired:
            return False
        idle = (now - (state.last_caller_at or state.started_at)).total_seconds()
        return any(idle >= s for s in self._inactivity_seconds(state))

    def next_deadline(self, state: ConversationState) -> dt.datetime | None:
        """The earliest time a watchdog or an OnInactivity trigger becomes due."""
        if state.end is not None:
            return None
        limits = self.agent.config.limits
        idle_since = state.last_caller_at or state.started_at
        times: list[dt.datetime] = []
        if limits.max_duration_seconds > 0:
            times.append(state.started_at + dt.timedelta(seconds=limits.max_duration_seconds))
        if limits.idle_timeout_seconds > 0:
            times.append(idle_since + dt.timedelta(seconds=limits.idle_timeout_seconds))
        if not state.inactivity_fired:
            times.extend(idle_since + dt.timedelta(seconds=s) for s in self._inactivity_seconds(state))
        return min(times) if times else None

    # ------------------------------------------------------------------------------------------
    # dispatch

    def _note_activity(self, st: ConversationState, activity: Activity, now: dt.datetime) -> None:
        st.last_activity_at = now
        st.activity = activity.to_json()
        if activity.from_name and not st.user_name:
            st.user_name = activity.from_name
        if activity.from_id and not st.user_id:
            st.user_id = activity.from_id

    def _ignore(self, r: Runner, activity: Activity, why: str) -> TurnResult:
        r.state.ignored.append(
            {
                "activity_id": activity.id,
                "type": str(activity.type),
                "name": activity.name,
                "text": activity.text,
                "at": r.now.isoformat(),
                "why": why,
            }
        )
        r.info(f"activity {activity.id!r} ({activity.type}) ignored: {why}")
        return TurnResult(state=r.state, log=r.log, ignored=True)

    def _result(self, r: Runner, stop: Stop) -> TurnResult:
        outputs = list(r.outputs)
        if r.mode == "call":
            for output in outputs:
                if isinstance(output, Say):
                    transcript.note(r.state, "agent", output.text, r.now)
        if stop is Stop.LISTEN:
            frame = r.top
            try:
                outputs.append(listen_for(r, frame if frame is not None and frame.question else None))
            except RuntimeFault as fault:
                r.log.append(LogEntry("error", str(fault), fault.topic, fault.node, fault.code, fault.span))
                outputs.append(listen_for(r, None))
        end = r.end
        snapshot = r.state.end_snapshot() if end else None
        return TurnResult(
            state=r.state,
            outputs=outputs,
            pending=r.pending,
            end=end,
            log=r.log,
            end_activity=end.activity(r.state.conversation_id, r.state.channel_id) if end else None,
            end_snapshot=snapshot,
            post_call_topics=tuple(select_topics(self.agent, snapshot, self)) if snapshot is not None else (),
            latency_message=r.latency if r.pending is not None else None,
            recognitions=r.recognitions,
            decisions=r.decisions,
            notes=r.notes,
            steps=list(r.steps),
        )

    def _watchdog(self, r: Runner, activity: Activity) -> Stop:
        signal = WatchdogSignal.from_value(activity.value)
        reason = signal.reason
        record = end_from_timeout(
            reason, source="watchdog", raw=signal.raw if signal.raw is not None else f"watchdog: {reason}",
            started_at=r.state.started_at, at=r.now, transfer=r.state.transfer,
            activity_id=activity.id,
        )
        r.end_conversation(record)
        return Stop.END

    def _transfer_result(self, r: Runner, activity: Activity) -> TurnResult:
        st = r.state
        transfer = st.transfer
        if transfer is None or not transfer.ringing:
            return self._ignore(r, activity, "no transfer is in progress")
        report = TransferReport.from_value(activity.value)
        outcome, raw = report.outcome, report.raw
        if outcome is None:
            return self._ignore(r, activity, f"unknown transfer outcome {raw!r}")
        self._note_activity(st, activity, r.now)
        st.turns += 1
        if outcome is TransferOutcome.ANSWERED:
            record = end_from_transfer_answered(
                transfer, raw=raw, started_at=st.started_at, at=r.now, activity_id=activity.id
            )
            r.end_conversation(record)
            return self._result(r, Stop.END)
        if outcome is TransferOutcome.ABANDONED:
            record = end_from_channel(
                EndSignal(reason=EndReason.CUSTOMER_HANGUP, raw=raw or "abandoned"),
                transfer=transfer, started_at=st.started_at, at=r.now, activity_id=activity.id,
            )
            r.end_conversation(record)
            return self._result(r, Stop.END)
        st.transfer = transfer.resolve(outcome, raw, r.now)
        set_transfer_variables(st.system, st.transfer)
        r.info(f"transfer to {transfer.target} {outcome}; the agent continues")
        return self._result(r, r.run())

    def _conversation_update(self, r: Runner) -> Stop:
        topics: list[tuple[Topic, str]] = [(t, "activity") for t in select_activity(r, "ConversationUpdate")]
        if not r.state.started:
            r.state.started = True
            start = select_simple(r, "OnConversationStart")
            if start:
                mark_fired(r, start[0])
                topics.insert(0, (start[0], "start"))
        r.start_topics(topics)
        return r.run()

    def _event(self, r: Runner, activity: Activity) -> Stop:
        name = activity.name
        top = r.top
        waiting = top if top is not None and top.question is not None and not top.question.interrupted else None
        if name == ChannelEvent.SILENCE:
            if waiting is not None:
                try:
                    return after(r, waiting, on_silence(r, waiting, question_node(r, waiting)))
                except RuntimeFault as fault:
                    r.on_fault(fault)
                    return r.run()
            handlers = select_simple(r, "OnSilence")
            if handlers:
                mark_fired(r, handlers[0])
                r.start_topics([(handlers[0], "silence")])
            return r.run()
        if name == ChannelEvent.UNRECOGNIZED_SPEECH:
            handlers = select_simple(r, "OnUnrecognizedSpeech")
            if handlers:
                mark_fired(r, handlers[0])
                r.push(handlers[0], started_by="unrecognized speech")
                return r.run()
            if waiting is not None:
                try:
                    return after(r, waiting, no_match(r, waiting, question_node(r, waiting)))
                except RuntimeFault as fault:
                    r.on_fault(fault)
                    return r.run()
            self.unknown_intent(r, [])
            return r.run()
        if name == ChannelEvent.INACTIVITY:
            idle = (r.now - (r.state.last_caller_at or r.state.started_at)).total_seconds()
            due = [
                t for t in select_simple(r, "OnInactivity")
                if idle >= (r.eval_int(t.trigger.duration_seconds, None, default=t.trigger.DEFAULT_INACTIVITY_SECONDS) or 0)
            ]
            if due and not r.state.inactivity_fired:
                r.state.inactivity_fired = True
                mark_fired(r, due[0])
                r.push(due[0], started_by="inactivity")
            return r.run()
        topics: list[tuple[Topic, str]] = [(t, "activity") for t in select_activity(r, "Event")]
        handlers = select_event(r, name)
        if handlers:
            mark_fired(r, handlers[0])
            topics.append((handlers[0], "event"))
        r.start_topics(topics)
        return r.run()

    def _message(self, r: Runner, activity: Activity) -> Stop:
        st = r.state
        st.last_caller_at = r.now
        st.inactivity_fired = False
        if activity.text is not None:
            st.system["LastMessage.Text"] = activity.text
            st.system["LastMessage.Id"] = activity.id
        elif activity.dtmf:
            st.system["LastMessage.Text"] = activity.dtmf
            st.system["LastMessage.Id"] = activity.id
        if not st.started:
            st.started = True
        top = r.top
        if top is not None and top.question is not None and not top.question.interrupted:
            try:
                return self._answer(r, top, activity)
            except RuntimeFault as fault:
                r.on_fault(fault)
                return r.run()
        self._route(r, activity)
        return r.run()

    def _answer(self, r: Runner, frame: Frame, activity: Activity) -> Stop:
        node = question_node(r, frame)
        text = activity.text
        dtmf = clean_digits(activity.dtmf) if activity.dtmf else None
        since = len(r.recognitions)
        may_interrupt = bool(node.allow_interruption and text and not dtmf)
        # A remote recogniser (a model, an NLU: a request the caller waits for) is asked only when
        # its decision can change what happens: before the answer for a question that takes any
        # words (a sure match interrupts it), after it for a closed one (a recognised answer wins).
        later = may_interrupt and asks_remotely(r.engine.recognizer) and not is_free_text(node)
        matches, close = self._interrupting(r, frame, text) if may_interrupt and not later else ([], "")
        strong = getattr(r.engine.recognizer, "strong", 0.8)
        if matches and is_free_text(node) and matches[0][1].score >= strong:
            took(r, since, "interrupted", f"started {matches[0][0].name!r}: sure enough "
                 f"(>= {strong:.2f}) to interrupt a question that takes any words")
            self._interrupt(r, matches[0][0])
            return r.run()
        answer = recognize_answer(r, frame, node, text=text, dtmf=dtmf)
        if answer.recognized:
            took(r, since, "answer", f"{close}the words were taken as the answer to the waiting question")
            return after(r, frame, accept(r, frame, node, answer.value))
        if later:
            matches, close = self._interrupting(r, frame, text)
        if matches:
            took(r, since, "interrupted", f"started {matches[0][0].name!r}: the words did not "
                 "answer the waiting question, so the topic interrupted it")
            self._interrupt(r, matches[0][0])
            return r.run()
        if dtmf and answer.problem == "unknown-key":
            unknown = select_simple(r, "OnUnknownDtmfKey")
            if unknown:
                mark_fired(r, unknown[0])
                r.push(unknown[0], started_by="unknown dtmf key")
                return r.run()
        took(r, since, "not-understood", f"{close}the words did not answer the waiting question, "
             "which counts them as not understood (it asks again, or gives up after its last try)")
        return after(r, frame, no_match(r, frame, node))

    @staticmethod
    def _interrupting(r: Runner, frame: Frame, text: str | None) -> tuple[list[tuple[Topic, IntentMatch]], str]:
        """The topic the words may interrupt the question with (none when several are close),
        and the explanation's note when several were."""
        matches = recognize(r, text or "", exclude=frame.topic)
        if len(matches) > 1:  # several close topics do not interrupt a question
            return [], "several topics are close, which never interrupts a question; "
        return matches, ""

    def _interrupt(self, r: Runner, topic: Topic) -> None:
        mark_fired(r, topic)
        r.state.system["FallbackCount"] = 0
        started_by = "escalate" if topic.trigger.kind == "OnEscalate" else "intent"
        r.info(f"question interrupted by topic {topic.name!r}")
        r.start_topics([(topic, started_by)])

    def _route(self, r: Runner, activity: Activity) -> None:
        topics: list[tuple[Topic, str]] = [(t, "activity") for t in select_activity(r, "Message")]
        text = activity.text or ""
        if activity.dtmf and not text.strip():
            key = clean_digits(activity.dtmf)[:1]
            handlers = select_dtmf(r, key) if key else []
            if not handlers:
                handlers = select_simple(r, "OnUnknownDtmfKey")
            if handlers:
                mark_fired(r, handlers[0])
                r.start_topics([*topics, (handlers[0], "dtmf")])
                return
        since = len(r.recognitions)
        recognition = decide_intent(r, text)
        if recognition.outcome == "ambiguous" and self._select_intent(r, recognition, topics, since):
            return
        if recognition.chosen:
            topic = self.topic(recognition.chosen[0].topic)
            best = recognition.chosen[0]
            took(r, since, *ran(recognition, topic, self.topic))
            mark_fired(r, topic)
            r.state.system["FallbackCount"] = 0
            r.info(f"recognised {topic.name!r} (score {best.score:.2f}, phrase {best.phrase!r})")
            started_by = "escalate" if topic.trigger.kind == "OnEscalate" else "intent"
            r.start_topics([*topics, (topic, started_by)])
            return
        fallback = self.unknown_intent(r, topics)
        took(r, since, "fallback", f"no topic started: {fallback} (System.FallbackCount "
             f"{r.state.system.get('FallbackCount')})")

    def _select_intent(
        self, r: Runner, recognition: Recognition, topics: list[tuple[Topic, str]], since: int
    ) -> bool:
        """Several close topics: the Multiple Topics Matched topic (OnSelectIntent) asks which,
        with the candidates in System.Recognizer.IntentOptions.  Topics marked
        `includeInOnSelectIntent: false` are left out; with fewer than two left, the best
        one is taken.  An agent without that topic gets Copilot Studio's default one."""
        options = [
            (self.topic(m.topic), m) for m in recognition.chosen
            if self.topic(m.topic).trigger.include_in_on_select_intent
        ]
        if len(options) < 2:
            return False
        handler = select_intent_topic(r)
        if handler is None:
            handler = self.builtin_topics.get(DEFAULT_SELECT_INTENT.name)
            if handler is None:
                handler = DEFAULT_SELECT_INTENT
                self.builtin_topics[handler.name] = handler
        r.state.system["Recognizer.IntentOptions"] = intent_options(options)
        r.state.system["Recognizer.SelectedIntent"] = None
        r.state.system["Recognizer.TriggeringMessage.Text"] = r.state.system.get("LastMessage.Text")
        mark_fired(r, handler)
        took(r, since, "asked", f"asked the caller which, with {handler.name!r} ({len(options)} options)")
        r.info(f"{len(options)} topics are close; asking with {handler.name!r}")
        r.start_topics([*topics, (handler, SELECT_INTENT)])
        return True

    def unknown_intent(self, r: Runner, topics: list[tuple[Topic, str]]) -> str:
        """Nothing recognised: the Fallback topic (or the default reply); says which ran."""
        count = r.state.system.get("FallbackCount")
        r.state.system["FallbackCount"] = (count if isinstance(count, int) else 0) + 1
        fallback = select_simple(r, "OnUnknownIntent")
        ran = "the default reply"
        if fallback:
            mark_fired(r, fallback[0])
            topics = [*topics, (fallback[0], "fallback")]
            ran = f"the Fallback topic {fallback[0].name!r} ran"
        elif topics:
            ran = "no Fallback topic; the message topics ran"
        else:
            r.say(DEFAULT_FALLBACK)
        r.start_topics(topics)
        return ran

