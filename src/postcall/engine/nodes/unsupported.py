"""Nodes the runtime loads but cannot run: running into one is a clear runtime error."""

from __future__ import annotations

from postcall.engine.faults import RUN_UNSUPPORTED
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.state import Frame
from postcall.topics.model import BreakLoop, ContinueLoop, Node, UnsupportedNode


def run_unsupported(r: Runner, frame: Frame, node: Node) -> Flow:
    if isinstance(node, (BreakLoop, ContinueLoop)):
        raise r.fault(
            f"{node.kind} {node.id!r} is not inside a Foreach.",
            code=RUN_UNSUPPORTED, error_code="UnsupportedNode", frame=frame, node=node.id,
            span=node.span,
        )
    why = (
        "exists in Copilot Studio but this runtime does not run it"
        if isinstance(node, UnsupportedNode) and node.known_kind
        else "is not a node kind this runtime knows"
    )
    raise r.fault(
        f"Node {node.id!r} of kind {node.kind!r} {why}; remove it, disable it "
        "(`disabled: true`) or replace it.",
        code=RUN_UNSUPPORTED, error_code="UnsupportedNode", frame=frame, node=node.id,
        span=node.span,
    )
