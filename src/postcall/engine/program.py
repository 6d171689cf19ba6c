"""A topic compiled to a flat list of instructions, so a position is one integer.

Nested action lists (ConditionGroup branches, Foreach bodies) become jumps.  A saved
conversation therefore stores only `(topic, pc)` per dialog-stack frame, and GotoAction is a jump
to the instruction of the target node.  Disabled nodes compile to nothing (a GotoAction to one
lands on what follows it).

Instructions:

* `node`    run a leaf node (everything except ConditionGroup, Foreach, BreakLoop, ContinueLoop)
* `branch`  evaluate `expr`; when false jump to `target`
* `jump`    jump to `target`
* `loop`    start a Foreach: evaluate its items, reset its position (`node` is the Foreach)
* `next`    next item of loop `node`, or jump to `target` (past the loop) when done
* `break`   leave loop `node`: drop its state and jump to `target`
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postcall.topics.model import (
    Actions,
    BreakLoop,
    ConditionGroup,
    ContinueLoop,
    Expr,
    Foreach,
    Node,
    Topic,
    VoiceForm,
)


@dataclass(frozen=True, slots=True)
class Instruction:
    op: str
    node: Node | None = None
    expr: Expr | None = None
    target: int = -1
    branch_id: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    topic: str
    instructions: tuple[Instruction, ...]
    labels: dict[str, int] = field(default_factory=dict)  # node id -> instruction index

    def __len__(self) -> int:
        return len(self.instructions)


class _Builder:
    def __init__(self) -> None:
        self.code: list[Instruction] = []
        self.labels: dict[str, int] = {}
        self.loops: list[tuple[Foreach, int, list[int]]] = []  # (node, top, break fixups)

    def emit(self, ins: Instruction) -> int:
        self.code.append(ins)
        return len(self.code) - 1

    def patch(self, index: int, target: int) -> None:
        old = self.code[index]
        self.code[index] = Instruction(old.op, old.node, old.expr, target, old.branch_id)

    def actions(self, actions: Actions) -> None:
        for node in actions:
            self.labels.setdefault(node.id, len(self.code))
            if node.disabled:
                continue
            if isinstance(node, ConditionGroup):
                self.condition_group(node)
            elif isinstance(node, VoiceForm):
                self.emit(Instruction("node", node))  # says what it does, then its nodes run
                self.actions(node.actions)
            elif isinstance(node, Foreach):
                self.foreach(node)
            elif isinstance(node, BreakLoop):
                if self.loops:
                    loop, _, fixups = self.loops[-1]
                    fixups.append(self.emit(Instruction("break", loop)))
                else:
                    self.emit(Instruction("node", node))  # reported as a runtime error
            elif isinstance(node, ContinueLoop):
                if self.loops:
                    loop, top, _ = self.loops[-1]
                    self.emit(Instruction("jump", loop, target=top))
                else:
                    self.emit(Instruction("node", node))
            else:
                self.emit(Instruction("node", node))

    def condition_group(self, node: ConditionGroup) -> None:
        ends: list[int] = []
        for item in node.conditions:
            self.labels.setdefault(item.id, len(self.code))
            test = self.emit(Instruction("branch", node, item.condition, branch_id=item.id))
            self.actions(item.actions)
            ends.append(self.emit(Instruction("jump", node)))
            self.patch(test, len(self.code))
        self.actions(node.else_actions)
        for index in ends:
            self.patch(index, len(self.code))

    def foreach(self, node: Foreach) -> None:
        self.emit(Instruction("loop", node, node.items))
        top = self.emit(Instruction("next", node))
        fixups: list[int] = []
        self.loops.append((node, top, fixups))
        self.actions(node.actions)
        self.loops.pop()
        self.emit(Instruction("jump", node, target=top))
        end = len(self.code)
        self.patch(top, end)
        for index in fixups:
            self.patch(index, end)


def compile_topic(topic: Topic) -> Program:
    builder = _Builder()
    builder.actions(topic.trigger.actions)
    return Program(topic.name, tuple(builder.code), builder.labels)
