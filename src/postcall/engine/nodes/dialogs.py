"""Dialog-stack nodes: BeginDialog, ReplaceDialog, RepeatDialog, EndDialog, CancelDialog,
CancelAllDialogs, GotoAction, and EndConversation (which hangs up)."""

from __future__ import annotations

from collections.abc import Iterable

from postcall.engine.faults import RUN_GOTO, RUN_TOPIC
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.state import Frame
from postcall.powerfx.values import Value
from postcall.topics.model import (
    BeginDialog,
    CancelAllDialogs,
    CancelDialog,
    EndConversation,
    EndDialog,
    Expr,
    GotoAction,
    InputBinding,
    RepeatDialog,
    ReplaceDialog,
    Topic,
)


def resolve_topic(r: Runner, frame: Frame | None, dialog: Expr, node_id: str) -> Topic:
    name = r.eval_text(dialog, frame, node=node_id, what="the topic to redirect to") or ""
    topic = r.agent.find_topic(name)
    if topic is None:
        raise r.fault(
            f"Redirect to topic {name!r}, which this agent does not have.",
            code=RUN_TOPIC, error_code="TopicNotFound", frame=frame, node=node_id,
            span=dialog.span,
        )
    return topic


def input_values(r: Runner, frame: Frame, bindings: Iterable[InputBinding], node_id: str) -> dict[str, Value]:
    return {
        b.name: r.eval(b.value, frame, node=node_id, what=f"input {b.name!r}") for b in bindings
    }


def run_begin_dialog(r: Runner, frame: Frame, node: BeginDialog) -> Flow:
    topic = resolve_topic(r, frame, node.dialog, node.id)
    inputs = input_values(r, frame, node.input, node.id)
    frame.call = node.id
    r.push(topic, started_by="redirect", inputs=inputs)
    return Flow.STAY


def run_replace_dialog(r: Runner, frame: Frame, node: ReplaceDialog) -> Flow:
    topic = resolve_topic(r, frame, node.dialog, node.id)
    inputs = input_values(r, frame, node.input, node.id)
    r.state.stack.pop()
    r.info(f"topic {frame.topic!r} replaced by {topic.name!r}", frame, node.id)
    r.push(topic, started_by="redirect", inputs=inputs)
    return Flow.STAY


def run_repeat_dialog(r: Runner, frame: Frame, node: RepeatDialog) -> Flow:
    inputs = input_values(r, frame, node.input, node.id)
    frame.pc = 0
    frame.variables = dict(inputs)
    frame.loops.clear()
    frame.asked.clear()
    frame.question = None
    return Flow.STAY


def run_end_dialog(r: Runner, frame: Frame, node: EndDialog) -> Flow:
    r.pop(outputs=True)
    return Flow.STAY


def run_cancel_dialog(r: Runner, frame: Frame, node: CancelDialog) -> Flow:
    r.pop(outputs=False)
    return Flow.STAY


def run_cancel_all(r: Runner, frame: Frame, node: CancelAllDialogs) -> Flow:
    r.cancel_all(reason=f"CancelAllDialogs {node.id!r} in {frame.topic!r}")
    return Flow.STAY


def run_goto(r: Runner, frame: Frame, node: GotoAction) -> Flow:
    target = r.program(frame.topic).labels.get(node.action_id)
    if target is None:
        raise r.fault(
            f"GotoAction {node.id!r} jumps to {node.action_id!r}, which is not an action id of "
            f"topic {frame.topic!r}.",
            code=RUN_GOTO, error_code="ActionNotFound", frame=frame, node=node.id, span=node.span,
        )
    frame.pc = target
    return Flow.STAY


def run_end_conversation(r: Runner, frame: Frame, node: EndConversation) -> Flow:
    if r.mode == "postcall":
        r.warn("EndConversation skipped: the conversation has already ended.", frame, node.id)
        return Flow.NEXT
    r.hang_up(frame, node.id)
    return Flow.END
