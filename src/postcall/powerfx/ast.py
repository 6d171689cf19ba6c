"""The Power Fx syntax tree: frozen nodes, each with its file span and its offsets in the formula."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from postcall.diagnostics import SourceSpan


@dataclass(frozen=True, slots=True)
class Node:
    span: SourceSpan = field(compare=False, repr=False)
    start: int = field(compare=False, repr=False)
    end: int = field(compare=False, repr=False)

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class NumberLit(Node):
    value: float = 0.0
    text: str = ""


@dataclass(frozen=True, slots=True)
class TextLit(Node):
    value: str = ""


@dataclass(frozen=True, slots=True)
class BoolLit(Node):
    value: bool = False


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare identifier (`Topic`, `Value`, `'my name'`)."""

    name: str = ""
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Member(Node):
    """`obj.field`."""

    obj: Node | None = None
    field_name: str = ""

    def children(self) -> tuple[Node, ...]:
        return (self.obj,) if self.obj is not None else ()


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str = ""
    args: tuple[Node, ...] = ()
    name_start: int = field(default=0, compare=False, repr=False)
    name_end: int = field(default=0, compare=False, repr=False)

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class AsArg(Node):
    """`table As name` in a function argument."""

    expr: Node | None = None
    alias: str = ""

    def children(self) -> tuple[Node, ...]:
        return (self.expr,) if self.expr is not None else ()


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str = ""  # "-", "!", "%", "+"
    operand: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.operand,) if self.operand is not None else ()


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str = ""  # "=", "<>", "<", "<=", ">", ">=", "&", "+", "-", "*", "/", "^", "&&", "||", "in", "exactin"
    left: Node | None = None
    right: Node | None = None

    def children(self) -> tuple[Node, ...]:
        return tuple(n for n in (self.left, self.right) if n is not None)


@dataclass(frozen=True, slots=True)
class RecordLit(Node):
    fields: tuple[tuple[str, Node], ...] = ()

    def children(self) -> tuple[Node, ...]:
        return tuple(v for _, v in self.fields)


@dataclass(frozen=True, slots=True)
class TableLit(Node):
    items: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Interpolation(Node):
    """`$"text {expr} text"`: parts are literal strings or expressions."""

    parts: tuple[str | Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return tuple(p for p in self.parts if isinstance(p, Node))


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """`a; b; c` (parser flag EnableExpressionChaining): each runs in turn, the last is the value."""

    items: tuple[Node, ...] = ()

    def children(self) -> tuple[Node, ...]:
        return self.items


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def dotted_name(node: Node) -> str | None:
    """`Topic.caseId` for a chain of plain names joined by dots, else None."""
    parts: list[str] = []
    current: Node | None = node
    while isinstance(current, Member):
        parts.append(current.field_name)
        current = current.obj
    if isinstance(current, Name):
        parts.append(current.name)
        return ".".join(reversed(parts))
    return None
