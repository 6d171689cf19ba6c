"""The interpreter: steps a conversation's dialog stack through compiled topic programs.

A `Runner` works on one (already copied) ConversationState for one turn, a resume, or one
post-call topic run.  It stops when the conversation waits: for the caller (a Question, or no
topic left), for a backend action (`ActionRequest` out, `ActionResult` back in via resume), for a
transfer result, or for nothing because the conversation ended.  It never performs I/O and reads
time only from `now`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from postcall.actions import ActionRequest
from postcall.diagnostics import SourceSpan
from postcall.engine.activity import AgentOutput, HangUp, Say
from postcall.engine.ending import EndRecord, end_from_agent
from postcall.engine.faults import (
    RUN_EXPRESSION,
    RUN_INTERNAL,
    RUN_LOOP,
    RUN_STATE,
    RUN_VALUE,
    LogEntry,
    RuntimeFault,
)
from postcall.engine.program import Instruction, Program
from postcall.engine.recognizer import Decision, IntentCandidate, Recognition, Recognizer
from postcall.engine.state import ConversationState, Frame
from postcall.engine.transcript import Note
from postcall.engine.triggers import select_simple
from postcall.engine.values import to_text
from postcall.engine.variables import _literal, _lookup, _store, scope_for, set_end_variables
from postcall.errors import PowerFxError
from postcall.powerfx.formula import Formula
from postcall.powerfx.runtime import EvalContext, SeededRandom
from postcall.powerfx.template import Template
from postcall.powerfx.values import ErrorValue, Record, Table, Value
from postcall.topics.agent import Agent
from postcall.topics.model import BeginDialog, Expr, Node, TextTemplate, Topic, VariableRef

MAX_STEPS_PER_RUN = 10_000
SELECT_INTENT = "select intent"  # how a Multiple Topics Matched topic was started


class Stop(enum.StrEnum):
    LISTEN = "listen"  # waiting for the caller
    ACTION = "action"  # waiting for an ActionResult
    TRANSFER = "transfer"  # waiting for the transfer result
    END = "end"  # the conversation ended
    DONE = "done"  # post-call: the topic finished


@dataclass(frozen=True, slots=True)
class LatencyMessage:
    """A backend node's 'please wait' message: play `say` if the action takes `delay_ms`."""

    say: Say
    delay_ms: int | None = None
    minimum_playback_ms: int | None = None


class Flow(enum.Enum):
    NEXT = "next"  # go on with the next instruction
    STAY = "stay"  # the handler moved pc or changed the stack itself
    WAIT = "wait"  # a question is waiting for the caller
    SUSPEND = "suspend"  # a backend action was requested
    TRANSFER = "transfer"
    END = "end"


Handler = Callable[["Runner", Frame, Any], Flow]
LoopStep = Callable[["Runner", Frame, Instruction], Flow]


@dataclass(frozen=True, slots=True)
class NodeKinds:
    """The node handlers the interpreter dispatches to, handed in by the engine.

    The handlers (engine/nodes/) need the `Runner`; the interpreter needs the handlers.  Passing
    them in as a value (built once in `engine.nodes.NODE_KINDS`) keeps the interpreter below the
    nodes instead of in an import circle with them.
    """

    handlers: Mapping[type[Any], Handler]
    unsupported: Handler
    loop_start: LoopStep
    loop_next: LoopStep
    loop_break: LoopStep
    reask: Callable[[Runner, Frame], None]
    """Ask an interrupted question again (the interrupting topic has ended)."""


class EngineView(Protocol):
    """What a `Runner` uses of the `Engine` (engine.py): the agent, compiled pieces, the node handlers."""

    @property
    def agent(self) -> Agent: ...

    @property
    def recognizer(self) -> Recognizer: ...

    @property
    def enums(self) -> dict[str, dict[str, Value]]: ...

    @property
    def nodes(self) -> NodeKinds: ...

    @property
    def intent_candidates(self) -> tuple[IntentCandidate, ...]: ...

    @property
    def builtin_topics(self) -> dict[str, Topic]: ...

    def unknown_intent(self, r: Runner, topics: list[tuple[Topic, str]]) -> str: ...

    def program(self, name: str) -> Program: ...

    def formula(self, expr: Expr) -> Formula | None: ...

    def template(self, template: TextTemplate) -> Template | None: ...

    def node(self, topic: str, node_id: str) -> Node | None: ...


class Runner:
    """Runs one turn (or resume, or post-call topic) on a mutable state copy."""

    def __init__(
        self,
        engine: EngineView,
        state: ConversationState,
        *,
        now: dt.datetime,
        mode: str = "call",
        ids: Callable[[], str] | None = None,
        random: Callable[[int], bytes] | None = None,
        recorded: Sequence[Decision] = (),
    ) -> None:
        self.engine = engine
        # Rand()/GUID() draw from a stream fixed by what identifies this run, so a replay draws
        # the same values (recorded once, like a side effect), never refused as nondeterministic.
        self.random = random or SeededRandom(f"{state.entropy}|{state.conversation_id}|{mode}|{now.isoformat()}")
        self.agent = engine.agent
        self.state = state
        self.now = now
        self.mode = mode  # "call" or "postcall"
        self.ids = ids
        self.outputs: list[AgentOutput] = []
        self.log: list[LogEntry] = []
        self.recognitions: list[Recognition] = []
        self.recorded = tuple(recorded)  # decisions of this turn's earlier working-out (reused)
        self.decisions: list[Decision] = []  # what the recogniser was asked, and decided
        self.notes: list[Note] = []
        self.pending: ActionRequest | None = None
        self.end: EndRecord | None = None
        self.run_once_fired: set[str] = set()
        self.handling_error = False
        self.failure: RuntimeFault | None = None
        self.steps: list[dict[str, Any]] = []
        self.listen_frame: Frame | None = None
        self.latency: LatencyMessage | None = None

    # ------------------------------------------------------------------------------------------
    # logging

    def info(self, message: str, frame: Frame | None = None, node: str | None = None) -> None:
        self.log.append(LogEntry("info", message, frame.topic if frame else None, node))

    def warn(self, message: str, frame: Frame | None = None, node: str | None = None) -> None:
        self.log.append(LogEntry("warning", message, frame.topic if frame else None, node))

    def note(self, text: str, frame: Frame | None = None, node: str | None = None, **detail: Any) -> None:
        """A warning that also goes into the conversation's history (transcript.Note)."""
        self.warn(text, frame, node)
        self.notes.append(Note(text, frame.topic if frame else None, node, detail))

    # ------------------------------------------------------------------------------------------
    # evaluation

    def scope(self, frame: Frame | None, extra: Mapping[str, Value] | None = None) -> dict[str, Value]:
        return scope_for(
            self.state, frame, bot_name=self.agent.name, env=self.agent.env, extra=extra,
            schema_name=self.agent.bot_name,
        )

    def context(self, frame: Frame | None, extra: Mapping[str, Value] | None = None) -> EvalContext:
        now = self.now
        return EvalContext(
            scope=self.scope(frame, extra),
            now=lambda: now,
            timezone=dt.UTC,
            enums=self.engine.enums,
            random=self.random,
        )

    def fault(
        self,
        message: str,
        *,
        code: str,
        error_code: str,
        frame: Frame | None,
        node: str | None = None,
        span: SourceSpan | None = None,
    ) -> RuntimeFault:
        return RuntimeFault(
            message,
            code=code,
            error_code=error_code,
            topic=frame.topic if frame else None,
            node=node,
            span=span,
            conversation_id=self.state.conversation_id,
        )

    def eval(
        self,
        expr: Expr | None,
        frame: Frame | None,
        *,
        node: str | None = None,
        extra: Mapping[str, Value] | None = None,
        what: str = "value",
    ) -> Value:
        """The value of a field: its literal, or its formula evaluated now.  Errors raise."""
        if expr is None:
            return None
        formula = self.engine.formula(expr) if expr.formula is not None else None
        if formula is None:
            if expr.is_formula:
                raise self.fault(
                    f"The formula for {what} {expr.text!r} could not be parsed; run `postcall "
                    "check` for the details.",
                    code=RUN_EXPRESSION, error_code="ExpressionError", frame=frame, node=node,
                    span=expr.span,
                )
            literal: Value = _literal(expr.literal)
            return literal
        try:
            value = formula.evaluate(self.context(frame, extra))
        except PowerFxError as exc:
            raise self.fault(
                f"The formula for {what} failed: {exc}",
                code=RUN_EXPRESSION, error_code="ExpressionError", frame=frame, node=node,
                span=exc.span or expr.span,
            ) from exc
        if isinstance(value, ErrorValue):
            raise self.fault(
                f"The formula for {what} {expr.text!r} gave an error: "
                f"{value.message or value.kind.name}.",
                code=RUN_EXPRESSION, error_code="ExpressionError", frame=frame, node=node,
                span=value.span or expr.span,
            )
        return value

    def eval_bool(self, expr: Expr | None, frame: Frame | None, *, default: bool, node: str | None = None, what: str = "condition") -> bool:
        if expr is None:
            return default
        value = self.eval(expr, frame, node=node, what=what)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value.strip().lower() in {"true", "false"}:
                return value.strip().lower() == "true"
        raise self.fault(
            f"The {what} {expr.text!r} gave {to_text(value)!r}, not true or false.",
            code=RUN_VALUE, error_code="InvalidValue", frame=frame, node=node, span=expr.span,
        )

    def eval_int(self, expr: Expr | None, frame: Frame | None, *, default: int | None, node: str | None = None, what: str = "number") -> int | None:
        if expr is None:
            return default
        value = self.eval(expr, frame, node=node, what=what)
        if value is None:
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return int(value)
        if isinstance(value, str):
            try:
                return int(float(value))
            except ValueError:
                pass
        raise self.fault(
            f"The {what} {expr.text!r} gave {to_text(value)!r}, not a number.",
            code=RUN_VALUE, error_code="InvalidValue", frame=frame, node=node, span=expr.span,
        )

    def eval_text(self, expr: Expr | None, frame: Frame | None, *, node: str | None = None, what: str = "text") -> str | None:
        if expr is None:
            return None
        value = self.eval(expr, frame, node=node, what=what)
        return None if value is None else to_text(value)

    def render(
        self,
        template: TextTemplate | None,
        frame: Frame | None,
        *,
        node: str | None = None,
        escape: Callable[[str], str] | None = None,
    ) -> str:
        """A message template with its holes filled (each passed through `escape` when given)."""
        if template is None:
            return ""
        compiled = self.engine.template(template) if template.template is not None else None
        if compiled is None:
            if "{" not in template.text:
                return template.text
            raise self.fault(
                f"The message {template.text!r} has a hole that could not be parsed; run "
                "`postcall check` for the details.",
                code=RUN_EXPRESSION, error_code="ExpressionError", frame=frame, node=node,
                span=template.span,
            )
        try:
            return str(compiled.render(self.context(frame), escape))
        except PowerFxError as exc:
            raise self.fault(
                f"A formula in the message failed: {exc}",
                code=RUN_EXPRESSION, error_code="ExpressionError", frame=frame, node=node,
                span=exc.span or template.span,
            ) from exc

    # ------------------------------------------------------------------------------------------
    # variables

    def assign(self, ref: VariableRef, value: Value, frame: Frame | None) -> None:
        if isinstance(value, ErrorValue):
            raise self.fault(
                f"Cannot store an error in {ref.path}: {value.message or value.kind.name}.",
                code=RUN_VALUE, error_code="InvalidValue", frame=frame, span=ref.span,
            )
        if ref.scope == "Topic":
            if frame is None:
                raise self.fault(
                    f"Cannot set {ref.path} outside a topic.", code=RUN_VALUE,
                    error_code="InvalidValue", frame=None, span=ref.span,
                )
            _store(frame.variables, ref.name, value)
        elif ref.scope == "Global":
            _store(self.state.globals, ref.name, value)
        elif ref.scope == "System":
            _store(self.state.system, ref.name, value)
        else:
            raise self.fault(
                f"{ref.path} is read-only (Env variables come from agent.yaml).",
                code=RUN_VALUE, error_code="InvalidValue", frame=frame, span=ref.span,
            )

    def read(self, ref: VariableRef, frame: Frame | None) -> Value:
        if ref.scope == "Topic":
            return _lookup(frame.variables if frame else {}, ref.name)
        if ref.scope == "Global":
            return _lookup(self.state.globals, ref.name)
        if ref.scope == "Env":
            return self.agent.env.get(ref.name)
        system = self.scope(frame)["System"]
        value: Value = system
        for part in ref.name.split("."):
            value = value.get_field(part) if isinstance(value, Record) else None
        return value

    # ------------------------------------------------------------------------------------------
    # the dialog stack

    @property
    def top(self) -> Frame | None:
        return self.state.stack[-1] if self.state.stack else None

    def program(self, topic: str) -> Program:
        return self.engine.program(topic)

    def push(self, topic: Topic, *, started_by: str, inputs: Mapping[str, Value] | None = None) -> Frame:
        below = self.top
        if below is not None and below.question is not None:
            below.question.interrupted = True
        frame = Frame(topic=topic.name, started_by=started_by)
        if topic.trigger.run_once:
            self.run_once_fired.add(topic.name)
        for name, value in (inputs or {}).items():
            _store(frame.variables, name, value)
        self.state.stack.append(frame)
        self.info(f"topic {topic.name!r} started ({started_by})", frame)
        return frame

    def start_topics(self, topics: Iterable[tuple[Topic, str]]) -> None:
        """Start topics to run one after the other, the first listed first."""
        ordered = list(topics)
        for topic, started_by in ordered:
            if topic.start_behavior != "Default" and started_by in {"intent", "escalate"}:
                self.cancel_all(reason=f"{topic.name!r} cancels other topics")
        for topic, started_by in reversed(ordered):
            self.push(topic, started_by=started_by)

    def follow_selected_intent(self, frame: Frame) -> None:
        """After Multiple Topics Matched: start the topic the caller chose
        (System.Recognizer.SelectedIntent.TopicId); "none of these" (NoTopic) starts nothing
        here (the topic itself redirects to Fallback)."""
        chosen = self.state.system.get("Recognizer.SelectedIntent")
        topic_id = chosen.get_field("TopicId") if isinstance(chosen, Record) else None
        topic = self.agent.topics.get(topic_id) if isinstance(topic_id, str) else None
        if topic is None and isinstance(topic_id, str):
            topic = next((t for t in self.agent.topics.values() if t.schema_name == topic_id), None)
        if topic is None:
            if topic_id not in (None, "", "NoTopic"):
                self.warn(f"the selected intent {topic_id!r} is not a topic of this agent")
            elif frame.topic in self.engine.builtin_topics:
                self.engine.unknown_intent(self, [])  # "none of these" in the built-in topic
            return
        self.state.system["FallbackCount"] = 0
        if topic.trigger.run_once:
            self.run_once_fired.add(topic.name)
        started_by = "escalate" if topic.trigger.kind == "OnEscalate" else "intent"
        self.info(f"the caller chose {topic.name!r}")
        self.start_topics([(topic, started_by)])

    def cancel_all(self, *, reason: str) -> None:
        if self.state.stack:
            self.info(f"all topics cancelled: {reason}")
        self.state.stack.clear()

    def pop(self, *, outputs: bool) -> None:
        """End the top topic and return to its caller (applying output bindings if asked)."""
        frame = self.state.stack.pop()
        self.info(f"topic {frame.topic!r} ended", frame)
        caller = self.top
        if frame.started_by == SELECT_INTENT:
            self.follow_selected_intent(frame)
            return
        if caller is None or caller.call is None:
            return
        node = self.engine.node(caller.topic, caller.call)
        if outputs and isinstance(node, BeginDialog):
            for binding in node.output:
                self.assign(binding.variable, _lookup(frame.variables, binding.name), caller)
        caller.call = None
        caller.pc += 1

    # ------------------------------------------------------------------------------------------
    # the run loop

    def run(self) -> Stop:
        """Step until the conversation waits or ends."""
        steps = 0
        while True:
            if self.mode == "call" and (self.end is not None or self.state.end is not None):
                return Stop.END
            frame = self.top
            if frame is None:
                return Stop.DONE if self.mode == "postcall" else Stop.LISTEN
            if frame.question is not None and self.mode == "call":
                if frame.question.interrupted:
                    try:
                        self.engine.nodes.reask(self, frame)
                    except RuntimeFault as fault:
                        if self.on_fault(fault):
                            return Stop.DONE
                        continue
                self.listen_frame = frame
                return Stop.LISTEN
            program = self.program(frame.topic)
            if frame.pc >= len(program) or frame.pc < 0:
                try:
                    self.pop(outputs=True)
                except RuntimeFault as fault:
                    if self.on_fault(fault):
                        return Stop.DONE
                continue
            steps += 1
            if steps > MAX_STEPS_PER_RUN:
                loop_fault = self.fault(
                    f"Topic {frame.topic!r} ran more than {MAX_STEPS_PER_RUN} steps without "
                    "waiting for the caller; is there an endless GotoAction loop?",
                    code=RUN_LOOP, error_code="LoopLimitExceeded", frame=frame,
                )
                if self.on_fault(loop_fault):
                    return Stop.DONE
                steps = 0
                continue
            try:
                flow = self.execute(frame, program, frame.pc)
            except RuntimeFault as fault:
                if self.on_fault(fault):
                    return Stop.DONE
                continue
            except Exception as exc:  # a bug in a handler must not take the call down
                internal = self.fault(
                    f"Node at step {frame.pc} of topic {frame.topic!r} failed unexpectedly: "
                    f"{type(exc).__name__}: {exc}",
                    code=RUN_INTERNAL, error_code="InternalError", frame=frame,
                )
                if self.on_fault(internal):
                    return Stop.DONE
                continue
            if flow is Flow.NEXT:
                frame.pc += 1
            elif flow is Flow.WAIT:
                self.listen_frame = frame
                return Stop.LISTEN
            elif flow is Flow.SUSPEND:
                return Stop.ACTION
            elif flow is Flow.TRANSFER:
                return Stop.TRANSFER
            elif flow is Flow.END:
                return Stop.END

    def execute(self, frame: Frame, program: Program, pc: int) -> Flow:
        kinds = self.engine.nodes
        ins = program.instructions[pc]
        if ins.op == "node":
            node = ins.node
            assert node is not None
            handler = kinds.handlers.get(type(node))
            if handler is None:
                return kinds.unsupported(self, frame, node)
            self.steps.append({"topic": frame.topic, "node": node.id, "kind": node.kind})
            if node.conversation_outcome:  # ResolvedConfirmed, ResolvedImplied, Escalated
                self.state.system["Conversation.Outcome"] = node.conversation_outcome
            return handler(self, frame, node)
        if ins.op == "branch":
            if self.eval_bool(ins.expr, frame, default=False, node=ins.branch_id):
                return Flow.NEXT
            frame.pc = ins.target
            return Flow.STAY
        if ins.op == "jump":
            frame.pc = ins.target
            return Flow.STAY
        if ins.op == "loop":
            return kinds.loop_start(self, frame, ins)
        if ins.op == "next":
            return kinds.loop_next(self, frame, ins)
        if ins.op == "break":
            return kinds.loop_break(self, frame, ins)
        raise self.fault(  # pragma: no cover - the compiler emits only the ops above
            f"Unknown instruction {ins.op!r}.", code=RUN_STATE, error_code="InvalidState",
            frame=frame,
        )

    # ------------------------------------------------------------------------------------------
    # errors

    def on_fault(self, fault: RuntimeFault) -> bool:
        """Handle a failed topic.  Returns True when the run must stop (post-call mode)."""
        self.log.append(LogEntry("error", str(fault), fault.topic, fault.node, fault.code, fault.span))
        self.state.system["Error.Code"] = fault.error_code
        self.state.system["Error.Message"] = str(fault)
        self.pending = None
        self.state.pending = None
        if self.mode == "postcall":
            self.failure = fault
            self.state.stack.clear()
            return True
        self.state.stack.clear()
        if self.handling_error:
            self.say_default_error(fault)
            return False
        self.handling_error = True
        handlers = select_simple(self, "OnError")
        if handlers:
            self.start_topics([(handlers[0], "error")])
        else:
            self.say_default_error(fault)
        return False

    def say_default_error(self, fault: RuntimeFault) -> None:
        self.outputs.append(
            Say(
                text=(
                    f"An error has occurred. Error code: {fault.error_code}. "
                    f"Conversation Id: {self.state.conversation_id}."
                ),
                speak="Sorry, something went wrong.",
            )
        )

    # ------------------------------------------------------------------------------------------
    # outputs and the end

    def say(self, text: str, speak: str | None = None, *, allow_barge_in: bool = True) -> None:
        self.outputs.append(Say(text=text, speak=speak, allow_barge_in=allow_barge_in))

    def end_conversation(self, record: EndRecord, *, hang_up_node: str | None = None) -> None:
        """Record the one end of the conversation (callers check `state.end` first)."""
        if self.state.end is not None:
            return
        self.state.end = record
        self.end = record
        if record.transfer is not None:
            self.state.transfer = record.transfer
            _set_transfer_variables(self.state.system, record.transfer)
        set_end_variables(self.state.system, record)
        self.state.stack.clear()
        self.state.pending = None
        self.pending = None
        if hang_up_node is not None:
            self.outputs.append(HangUp(node_id=hang_up_node))
        self.log.append(
            LogEntry("info", f"conversation ended: {record.reason} ({record.initiator}, {record.source})")
        )

    def hang_up(self, frame: Frame, node_id: str) -> None:
        record = end_from_agent(
            node_id=node_id,
            topic=frame.topic,
            started_at=self.state.started_at,
            at=self.now,
            transfer=self.state.transfer,
        )
        self.end_conversation(record, hang_up_node=node_id)

    def next_seq(self) -> int:
        self.state.seq += 1
        return self.state.seq

    def node_run(self, frame: Frame, node_id: str) -> int:
        """Count an execution of a node (for idempotency-key suffixes); returns 1 for the first."""
        key = f"{frame.topic}:{node_id}"
        count = self.state.node_runs.get(key, 0) + 1
        self.state.node_runs[key] = count
        return count


def _set_transfer_variables(system: dict[str, Value], transfer: Any) -> None:
    system["Transfer.Kind"] = transfer.kind
    system["Transfer.Target"] = transfer.target
    system["Transfer.Outcome"] = str(transfer.outcome) if transfer.outcome is not None else None
    system["Transfer.Raw"] = transfer.raw


set_transfer_variables = _set_transfer_variables


def is_table(value: Value) -> bool:
    return isinstance(value, Table)
