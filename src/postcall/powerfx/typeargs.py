"""Type arguments: the second argument of `ParseJSON(json, type)`, `AsType(x, type)`, `IsType(x, type)`.

A type argument is not a value: it is read from the formula's syntax at compile time, as Power Fx
reads it.  It is either a type name (`Number`, `Decimal`, `Text`, `Boolean`, `Date`, `DateTime`,
`Time`, `Dynamic`) or an inline type expression `Type(...)` whose argument is a type name, a
record of types (`Type({a: Number, b: [Text]})`) or a table of one type (`Type([{a: Date}])`,
`Type([Number])`, a one-column table of `Value`).  Anything else is a compile error, with the
message Power Fx gives.  The result (`TypeSpec`) tells the runtime how to read untyped JSON
(postcall.powerfx.functions.typed) and the static pass the result type.
"""

from __future__ import annotations

from dataclasses import dataclass

from postcall.diagnostics import SourceSpan
from postcall.powerfx import ast
from postcall.powerfx import types as T
from postcall.powerfx.types import FxType

# The type names a type argument accepts, and the static type each reads as.
SCALAR_TYPES: dict[str, FxType] = {
    "Number": T.NUMBER,
    "Decimal": T.NUMBER,
    "Text": T.TEXT,
    "Boolean": T.BOOLEAN,
    "Date": T.DATE,
    "DateTime": T.DATETIME,
    "Time": T.TIME,
    "Dynamic": T.DYNAMIC,
    "UntypedObject": T.DYNAMIC,
}
# Types Power Fx knows but does not read from JSON.
UNSUPPORTED_TYPES = frozenset({"Color", "Hyperlink", "Image", "Media", "Blob", "Guid", "GUID"})
# The functions whose argument at this index is a type argument.
TYPE_ARGUMENTS = {"ParseJSON": 1, "AsType": 1, "IsType": 1}


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """`kind`: a name of SCALAR_TYPES, "Record" (`fields`) or "Table" (`fields` of its rows;
    `column` when it was written `[scalar]`, a one-column table of `Value`)."""

    kind: str
    fields: tuple[tuple[str, TypeSpec], ...] = ()
    column: bool = False

    def field(self, name: str) -> TypeSpec | None:
        for key, spec in self.fields:
            if key == name:
                return spec
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.fields)

    def fx_type(self) -> FxType:
        if self.kind == "Record":
            return T.record((k, v.fx_type()) for k, v in self.fields)
        if self.kind == "Table":
            return T.table((k, v.fx_type()) for k, v in self.fields)
        return SCALAR_TYPES[self.kind]


class TypeArgError(Exception):
    """A type argument that is not one; `problems` are (span, message) in Power Fx's words."""

    def __init__(self, problems: list[tuple[SourceSpan, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def _source(node: ast.Node) -> str:
    """A short rendering of the argument for messages."""
    if isinstance(node, ast.NumberLit):
        return node.text or str(node.value)
    if isinstance(node, ast.TextLit):
        return f'"{node.value}"'
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Call):
        return f"{node.name}(...)" if node.args else f"{node.name}()"
    return "the expression"


def type_argument(node: ast.Node, call: ast.Call) -> TypeSpec:
    """The type a function's type argument names; TypeArgError when it names none."""
    if isinstance(node, ast.Name):
        return _named(node, call)
    if isinstance(node, ast.Call) and node.name == "Type":
        if len(node.args) != 1:
            raise TypeArgError([(node.span, "Type takes exactly one type expression.")])
        return _inline(node.args[0], node)
    raise TypeArgError([(node.span, f"Invalid argument '{_source(node)}'. Expected valid type name or inline type expression.")])


def _named(node: ast.Name, call: ast.Node) -> TypeSpec:
    if node.name in SCALAR_TYPES:
        return TypeSpec(node.name)
    if node.name in UNSUPPORTED_TYPES:
        raise TypeArgError([(node.span, f"Unsupported type '{node.name}' in type argument.")])
    raise TypeArgError([
        (node.span, f"Name isn't valid. '{node.name}' isn't recognized."),
        (call.span, f"Invalid argument '{node.name}'. Expected valid type name or inline type expression."),
    ])


def _inline(node: ast.Node, type_call: ast.Call) -> TypeSpec:
    """A type expression inside `Type(...)`."""
    if isinstance(node, ast.Name):
        return _named(node, type_call)
    if isinstance(node, ast.RecordLit):
        return TypeSpec("Record", tuple(sorted((name, _inline(value, type_call)) for name, value in node.fields)))
    if isinstance(node, ast.TableLit) and len(node.items) == 1:
        row = _inline(node.items[0], type_call)
        if row.kind == "Record":
            return TypeSpec("Table", row.fields)
        return TypeSpec("Table", (("Value", row),), column=True)
    raise TypeArgError([
        (node.span, f"Type expression is invalid. '{_source(node)}' cannot be used in a type expression."),
        (type_call.span, f"Type expression is invalid. '{_source(type_call)}' cannot be used in a type expression."),
    ])
