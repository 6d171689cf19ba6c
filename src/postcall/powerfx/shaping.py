"""Compile-time checks of the table-shaping functions' column arguments, and their result types.

`ShowColumns`, `DropColumns`, `RenameColumns` and `AddColumns` name columns with identifiers
(or, in older Power Fx, text literals): the names are part of the formula, so Power Fx checks
them before anything runs.  When the source's columns are known (a literal table or record, or
the result of another shaping function) a column to show, drop or rename must exist, a new name
(renamed or added) must not, and the result type is known, so a later `.field` is checked too.
When the source's type is not known (a variable) only the form of the arguments is checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from postcall.diagnostics import did_you_mean
from postcall.powerfx import ast
from postcall.powerfx import types as T
from postcall.powerfx.features import Features
from postcall.powerfx.types import FxType

SHAPING = frozenset({"ShowColumns", "DropColumns", "RenameColumns", "AddColumns"})


def _column_name(node: ast.Node, features: Features) -> str | tuple[str]:
    """The column a literal argument names, or (problem,) when it is not a column name."""
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.TextLit):
        if node.value == "":
            return ("Argument '' is not a valid identifier.",)
        return node.value
    if features.support_column_names_as_identifiers:
        return ("Expected identifier name",)
    text = node.text if isinstance(node, ast.NumberLit) else "the argument"
    return (f"Argument '{text}' is invalid, expected a text literal.",)


def _missing(name: str, fields: dict[str, FxType]) -> str:
    near = did_you_mean(name, fields)
    hint = f" The column with the most similar name is '{near}'." if near else ""
    return f"The specified column '{name}' does not exist.{hint}"


def check_shaping(
    function: str, args: Sequence[ast.Node], arg_types: Sequence[FxType], features: Features
) -> tuple[FxType | None, list[tuple[int, str]]]:
    """(the result type when the source's columns are known, problems by argument index)."""
    problems: list[tuple[int, str]] = []
    source = arg_types[0] if arg_types else T.UNKNOWN
    known = source.kind in ("Table", "Record")
    fields = dict(source.fields) if known else {}
    if function == "RenameColumns" and len(args) % 2 == 0:
        problems.append((-1, f"Invalid number of arguments: received {len(args)}, expected an odd number."))
        return None, problems
    step = 1 if function in ("ShowColumns", "DropColumns") else 2
    shown: dict[str, FxType] = {}
    for index in range(1, len(args), step):
        name = _column_name(args[index], features)
        if isinstance(name, tuple):
            problems.append((index, name[0]))
            continue
        if function == "AddColumns":
            if known and name in fields:
                problems.append((index, f"A column named '{name}' already exists." if name not in shown else f"Column name conflict for '{name}'."))
                continue
            fields[name] = arg_types[index + 1] if index + 1 < len(arg_types) else T.UNKNOWN
            shown[name] = fields[name]
            continue
        if known and name not in fields:
            problems.append((index, _missing(name, fields)))
            continue
        if function == "ShowColumns":
            shown[name] = fields.get(name, T.UNKNOWN)
        elif function == "DropColumns":
            fields.pop(name, None)
        elif function == "RenameColumns" and index + 1 < len(args):
            new = _column_name(args[index + 1], features)
            if isinstance(new, tuple):
                problems.append((index + 1, new[0]))
                continue
            if known and new in fields and new != name:
                problems.append((index + 1, f"A column named '{new}' already exists."))
                continue
            if known:
                fields[new] = fields.pop(name)
    if not known or problems:
        return None, problems
    result = shown if function == "ShowColumns" else fields
    return FxType(source.kind, tuple(sorted(result.items()))), problems
