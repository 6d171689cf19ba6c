"""Foreach with BreakLoop and ContinueLoop (compiled to `loop`/`next`/`break` instructions)."""

from __future__ import annotations

from postcall.engine.faults import RUN_VALUE
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.program import Instruction
from postcall.engine.state import Frame, LoopState
from postcall.powerfx.values import Record, Table, Value
from postcall.topics.model import Foreach

MAX_LOOP_ITEMS = 10_000


def run_loop_start(r: Runner, frame: Frame, ins: Instruction) -> Flow:
    node = ins.node
    assert isinstance(node, Foreach)
    value = r.eval(node.items, frame, node=node.id, what="the items to loop through")
    items: list[Value]
    if value is None:
        items = []
    elif isinstance(value, Table):
        items = list(value.rows)
    elif isinstance(value, Record):
        items = [value]
    else:
        raise r.fault(
            f"Foreach needs a table, but {node.items.text!r} gave a {type(value).__name__}.",
            code=RUN_VALUE, error_code="InvalidValue", frame=frame, node=node.id,
            span=node.items.span,
        )
    if len(items) > MAX_LOOP_ITEMS:
        raise r.fault(
            f"Foreach over {len(items)} items; the limit is {MAX_LOOP_ITEMS}.",
            code=RUN_VALUE, error_code="InvalidValue", frame=frame, node=node.id,
        )
    r.steps.append({"topic": frame.topic, "node": node.id, "kind": node.kind})
    frame.loops[node.id] = LoopState(items=items)
    return Flow.NEXT


def _item_value(row: Value) -> Value:
    # Copilot Studio loops over single-column tables give the bare value.
    if isinstance(row, Record) and list(row) == ["Value"]:
        return row.get_field("Value")
    return row


def run_loop_next(r: Runner, frame: Frame, ins: Instruction) -> Flow:
    node = ins.node
    assert isinstance(node, Foreach)
    loop = frame.loops.get(node.id)
    if loop is None:  # a GotoAction jumped into the loop body; treat the loop as finished
        frame.pc = ins.target
        return Flow.STAY
    loop.index += 1
    if loop.index >= len(loop.items):
        del frame.loops[node.id]
        frame.pc = ins.target
        return Flow.STAY
    r.assign(node.value, _item_value(loop.items[loop.index]), frame)
    if node.index is not None:
        r.assign(node.index, loop.index, frame)
    return Flow.NEXT


def run_break(r: Runner, frame: Frame, ins: Instruction) -> Flow:
    node = ins.node
    assert node is not None
    frame.loops.pop(node.id, None)
    frame.pc = ins.target
    return Flow.STAY
