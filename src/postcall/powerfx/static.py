"""Static type rules: operator result types, argument checks, result agreement for If/Switch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from postcall.powerfx import ast
from postcall.powerfx import types as T
from postcall.powerfx.enums import BUILTIN_OPTION_SETS, OptionSet
from postcall.powerfx.features import POWER_FX_V1, Features
from postcall.powerfx.regexdialect import PatternError, check_pattern
from postcall.powerfx.signatures import Signature
from postcall.powerfx.textformat import MAX_FORMAT_LENGTH, NOT_FORMATTABLE, check_format
from postcall.powerfx.types import FxType, coercible

MISMATCH = (
    "Argument type mismatch. The types of all result arguments must agree with or be coercible "
    "to the first result argument."
)


TABLE_MISMATCH = (
    "Incompatible type. The item you are trying to put into a table has a type that is not "
    "compatible with the table."
)


def column_kinds(args: list[FxType]) -> dict[str, str]:
    """For Table(): each column's scalar kind, from the first argument that has the column."""
    kinds: dict[str, str] = {}
    for arg in args:
        if arg.kind in ("Record", "Table"):
            for key, value in arg.fields:
                if key not in kinds and value.kind != "Blank":
                    kinds[key] = value.kind
    return {k: v for k, v in kinds.items() if v in T.SCALARS}


def enum_type(option_set: OptionSet) -> FxType:
    """The type of an option set's name: a record of its members, each typed by the set."""
    member = option_value_type(option_set)
    return T.record({key: member for key in option_set.names})


def option_value_type(option_set: OptionSet) -> FxType:
    """A member's type: the set's own, or (strongly typed enums off) its backing kind."""
    if not option_set.strict:
        return FxType(option_set.backing)
    return FxType("Option", option_set=option_set.name, enum=option_set)


def _strict_enum(t: FxType) -> OptionSet | None:
    """The definition of a strongly typed option set value's set (None: not one)."""
    if t.kind == "Option" and t.enum is not None and t.enum.strict:
        return t.enum
    return None


def concat_type(parts: Sequence[FxType]) -> FxType:
    """The type of `a & b & ...` / Concatenate(a, b, ...): text, or a value of an option set
    whose members concatenate when every part is of that set (or text, when the set also takes
    text in its place: `Match.Digit & "-"`)."""
    sets = {p.option_set: p for p in parts if p.kind == "Option"}
    if len(sets) != 1:
        return T.TEXT
    option = next(iter(sets.values()))
    enum = option.enum
    if enum is None or not enum.concatenate:
        return T.TEXT
    others = [p for p in parts if p.kind != "Option"]
    if others and not (enum.coerce_from_backing and all(p.kind in ("Text", "Blank") for p in others)):
        return T.TEXT
    return option


def _option_binary(op: str, left: FxType, right: FxType) -> tuple[FxType, str | None] | None:
    """Operators on strongly typed option set values (enums.py's rules); None: not such a case."""
    le, re_ = _strict_enum(left), _strict_enum(right)
    if le is None and re_ is None:
        return None
    if op == "&":
        if left.is_aggregate or right.is_aggregate:
            return None
        return concat_type([left, right]), None
    if op in ("in", "exactin"):
        return None
    incompatible = f"Incompatible types for comparison. These types can't be compared: {_name(left)}, {_name(right)}."
    if op in ("=", "<>", "<", "<=", ">", ">="):
        ordering = op not in ("=", "<>")
        if left.kind == right.kind == "Option":
            if left.option_set != right.option_set:
                return T.BOOLEAN, incompatible
            enum = le or re_
            assert enum is not None
            if ordering and not enum.compare_numeric:
                return T.BOOLEAN, f"Unable to compare values of type {_name(left)}."
            return T.BOOLEAN, None
        option, other = (left, right) if left.kind == "Option" else (right, left)
        enum = option.enum
        assert enum is not None
        if other.kind in ("Unknown", "Error"):
            return T.BOOLEAN, None
        # Ordering against a plain number (or Blank) needs numeric comparison and a way across.
        orders_with_numbers = enum.compare_numeric and (enum.coerce_to_backing or enum.coerce_from_backing)
        if other.kind == "Blank":
            return T.BOOLEAN, (incompatible if ordering and not orders_with_numbers else None)
        if other.kind == enum.backing:
            if ordering:
                return T.BOOLEAN, None if orders_with_numbers else incompatible
            if enum.coerce_from_backing or enum.coerce_to_backing or enum.compare_numeric:
                return T.BOOLEAN, None
        return T.BOOLEAN, incompatible
    if op in ("&&", "||"):
        for side in (le, re_):
            if side is not None and not (side.coerce_to_backing and side.backing == "Boolean"):
                return T.BOOLEAN, "Invalid argument type. Expecting a Boolean value instead."
        return T.BOOLEAN, None
    # Arithmetic: only sets that may be used as their numbers.
    for side in (le, re_):
        if side is not None and not (side.coerce_to_backing and side.backing == "Number"):
            expected = "Number, Decimal, Text, Boolean, Dynamic" if op == "^" else (
                "Decimal, Number, Text, Boolean, Date, Time, DateTimeNoTimeZone, DateTime, Dynamic")
            return T.NUMBER, f"Invalid argument type. Expecting one of the following: {expected}."
    return None


def unary_problem(op: str, operand: FxType) -> str | None:
    """`-x`, `x%`, `!x` on a strongly typed option set value its set does not allow."""
    enum = _strict_enum(operand)
    if enum is None:
        return None
    wanted = "Boolean" if op == "!" else "Number"
    if enum.coerce_to_backing and enum.backing == wanted:
        return None
    return f"Invalid argument type ({_name(operand)}). Expecting a {wanted} value instead."


def table_literal_type(items: list[FxType]) -> tuple[FxType, str | None]:
    """`[a, b, ...]`: records make a table of their fields; other values a `Value` column."""
    known = [t for t in items if t.kind not in ("Blank", "Error", "Unknown")]
    if not known:
        return (T.single_column(T.UNKNOWN) if items else T.table({})), None
    if known[0].kind == "Record":
        merged = known[0]
        for t in known[1:]:
            if t.kind != "Record" or not T.aggregates_compatible(merged, t):
                return T.UNKNOWN, "Incompatible type. The item you are trying to put into a table has a type that is not compatible with the table."
            merged = T.union(merged, t)
        return FxType("Table", merged.fields), None
    first = known[0]
    for t in known[1:]:
        if t.kind == "Record" or (first.is_aggregate != t.is_aggregate):
            return T.UNKNOWN, "Incompatible type. The item you are trying to put into a table has a type that is not compatible with the table."
        if (_strict_enum(first) or _strict_enum(t)) and not T.coercible(t, first):
            return T.UNKNOWN, "Incompatible type. The item you are trying to put into a table has a type that is not compatible with the table."
    return T.single_column(first), None


_UNORDERED = frozenset({"Text", "Boolean"})
_TIMES = frozenset({"Date", "DateTime", "Time"})


def comparable(a: FxType, b: FxType) -> bool:
    """Whether `a = b` compares the values (Power Fx V1), rather than being a type error."""
    if a.is_open or b.is_open:
        return True
    if a.kind == "Dynamic" or b.kind == "Dynamic":
        # An untyped value takes the other side's type; two untyped values cannot be compared.
        return not (a.kind == b.kind or a.is_aggregate or b.is_aggregate)
    if a.is_aggregate or b.is_aggregate:
        return a.kind == b.kind == "Record"
    # Power Fx V1: numbers, dates and times compare with one another; text only with text,
    # Booleans only with Booleans (Blank with anything).
    ga, gb = _EQUALITY_GROUP.get(a.kind), _EQUALITY_GROUP.get(b.kind)
    return ga is None or gb is None or ga == gb


_EQUALITY_GROUP = {
    "Number": "number", "Date": "number", "DateTime": "number", "Time": "number",
    "Text": "text", "Boolean": "boolean",
}


def check_binary(op: str, left: FxType, right: FxType, features: Features = POWER_FX_V1) -> tuple[FxType, str | None]:
    """The result type of `left op right` and a compile error, if any."""
    if left.kind == "Void" or right.kind == "Void":
        return T.UNKNOWN, f"The operator '{op}' cannot be used with a value of no type."
    enum_rule = _option_binary(op, left, right)
    if enum_rule is not None:
        return enum_rule
    if (left.kind == "Color" or right.kind == "Color") and op not in ("=", "<>", "&", "in", "exactin"):
        expected = ("Number, Decimal, Date, Time, DateTime, Dynamic" if op in ("<", "<=", ">", ">=")
                    else "Decimal, Number, Text, Boolean, Date, Time, DateTimeNoTimeZone, DateTime, Dynamic")
        return (T.BOOLEAN if op in ("<", "<=", ">", ">=", "&&", "||") else T.NUMBER), (
            f"Invalid argument type. Expecting one of the following: {expected}.")
    if op in ("&&", "||"):
        if features.v1 and (left.kind in _TIMES or right.kind in _TIMES):
            return T.BOOLEAN, "Invalid argument type. Expecting one of the following: Boolean, Number, Decimal, Text, Dynamic."
        return T.BOOLEAN, None
    if op in ("=", "<>"):
        if not comparable(left, right) and (features.v1 or left.is_aggregate or right.is_aggregate):
            # Without the V1 rules comparing a number with text is only a warning (and false).
            return T.BOOLEAN, f"Incompatible types for comparison. These types can't be compared: {_name(left)}, {_name(right)}."
        return T.BOOLEAN, None
    if op in ("<", "<=", ">", ">="):
        if left.is_aggregate or right.is_aggregate or left.kind == right.kind == "Dynamic":
            return T.BOOLEAN, f"This operation isn't valid on these types: {_name(left)}, {_name(right)}."
        # Power Fx V1: ordering is for numbers, dates and times (and untyped values taking
        # their type), not text or Booleans.
        if left.kind in _UNORDERED or right.kind in _UNORDERED:
            return T.BOOLEAN, (
                "Invalid argument type. Expecting one of the following: Number, Decimal, Date, Time, DateTime, Dynamic."
            )
        return T.BOOLEAN, None
    if op == "&":
        if left.is_aggregate or right.is_aggregate:
            return T.TEXT, f"A {_name(left if left.is_aggregate else right)} cannot be joined as text."
        if left.kind == "Color" or right.kind == "Color":
            return T.TEXT, "Invalid argument type. Expecting one of the following: Text, Number, Decimal, Date, Time, DateTimeNoTimeZone, DateTime, Boolean, Dynamic."
        return T.TEXT, None
    if op in ("in", "exactin"):
        return T.BOOLEAN, _check_in(left, right)
    # Arithmetic.
    if left.is_aggregate or right.is_aggregate:
        return T.NUMBER, f"This operation isn't valid on these types: {_name(left)}, {_name(right)}."
    lk, rk = left.kind, right.kind
    if op == "^" and (lk in _TIMES or rk in _TIMES):
        return T.NUMBER, "Invalid argument type. Expecting one of the following: Number, Decimal, Text, Boolean, Dynamic."
    bad = f"This operation isn't valid on these types: {_name(left)}, {_name(right)}."
    if op == "+" and lk in ("Date", "DateTime") and rk in ("Date", "DateTime"):
        return T.NUMBER, bad
    if op == "-" and lk == "Time" and rk in ("Date", "DateTime"):
        return T.NUMBER, bad
    if op == "+":
        if lk in ("Date", "DateTime") and rk in ("Number", "Blank"):
            return left, None
        if rk in ("Date", "DateTime") and lk in ("Number", "Blank"):
            return right, None
        if {lk, rk} == {"Date", "Time"}:
            return T.DATETIME, None
        if lk == "Time" and rk in ("Number", "Time"):
            return T.TIME, None
    if op == "-":
        if lk in ("Date", "DateTime") and rk in ("Number", "Blank"):
            return left, None
        if lk in ("Date", "DateTime") and rk in ("Date", "DateTime"):
            return T.NUMBER, None
        if lk == "Time" and rk == "Number":
            return T.TIME, None
    return T.NUMBER, None


def _check_in(left: FxType, right: FxType) -> str | None:
    bad = "The 'in' operator cannot be used with these types: " + f"{_name(left)}, {_name(right)}."
    if left.is_open or right.is_open:
        return None
    if right.kind == "Dynamic" or left.kind == "Dynamic":
        return bad
    if right.kind == "Table":
        if left.kind == "Table":
            return bad
        if left.kind == "Record":
            row = T.row_type(right)
            if not T.aggregates_compatible(row, left) or set(left.field_names) - set(row.field_names):
                return bad
            return None
        if len(right.fields) != 1:
            return bad
        column = right.fields[0][1]
        if column.is_aggregate:
            return bad
        if not column.is_open and not coercible(left, column):
            return bad
        if column.kind in ("Date", "DateTime", "Time") and left.kind == "Boolean":
            return bad
        if left.kind in ("Date", "DateTime", "Time") and column.kind == "Boolean":
            return bad
        return None
    if right.kind == "Record" or left.is_aggregate:
        return bad
    return None


def _name(t: FxType) -> str:
    if t.kind == "Option":
        return f"Enum ({t.option_set})"
    return "Dynamic" if t.kind == "Dynamic" else t.kind


_SCALAR_PARAMS = {"Number", "Text", "Boolean", "DateTime", "Date", "Time"}


def _check_enum_param(
    name: str, arg: FxType, strict: bool, enums: Mapping[str, OptionSet] | None = None
) -> str | None:
    """An argument where option set `name`'s value is expected (Weekday's StartOfWeek...)."""
    if arg.kind in ("Unknown", "Blank", "Error", "Dynamic"):
        return None
    enum = (enums or BUILTIN_OPTION_SETS).get(name) or BUILTIN_OPTION_SETS[name]
    if arg.kind == "Option" and arg.option_set == name:
        return None
    problem = f"Invalid argument type ({_name(arg)}). Expecting a {enum.label} value instead."
    if not strict or (arg.kind == "Option" and arg.enum is not None and not arg.enum.strict):
        # Before strongly typed enums, a member was its backing value and any value of the
        # backing kind (or coercible to it) was accepted.
        if arg.kind == "Option" or arg.is_scalar:
            return None
        return problem
    if enum.coerce_from_backing and arg.kind == enum.backing:
        return None
    return problem


def _check_format(arg: FxType) -> str | None:
    """Text's format: text, or a DateTimeFormat member."""
    if arg.kind == "Option" and arg.option_set != "DateTimeFormat" and _strict_enum(arg) is not None:
        return "Expected text. We expect text at this point in the formula."
    return _check_param("Text", arg, False)


def _check_param(
    kind: str, arg: FxType, tabular: bool, strict: bool = True, enums: Mapping[str, OptionSet] | None = None
) -> str | None:
    if kind.startswith("Enum:"):
        return _check_enum_param(kind[5:], arg, strict, enums)
    if kind == "Format":
        return _check_format(arg)
    if kind == "Any":
        if arg.kind == "Void":
            return "Invalid argument type (Void)."
        return None
    if arg.kind in ("Unknown", "Blank", "Error"):
        return None
    if kind == "Table":
        if arg.kind in ("Table", "Dynamic"):
            return None
        return f"Invalid argument type ({_name(arg)}). Expecting a Table value instead."
    if kind == "Record":
        if arg.kind in ("Record", "Dynamic"):
            return None
        return f"Invalid argument type ({_name(arg)}). Expecting a Record value instead."
    if kind == "Predicate":
        if arg.kind in ("Boolean", "Number", "Dynamic", "Option", "Text"):
            return None
        return f"Invalid argument type ({_name(arg)}). Expecting a Boolean value instead."
    if kind == "Color":
        if arg.kind == "Table" and tabular and len(arg.fields) == 1:
            arg = arg.fields[0][1]
        if arg.kind in ("Color", "Unknown", "Blank", "Error", "Dynamic") or coercible(arg, T.COLOR):
            return None
        return f"Invalid argument type ({_name(arg)}). Expecting a Color value instead."
    if kind in _SCALAR_PARAMS:
        if arg.kind == "Table":
            if not tabular:
                return f"Invalid argument type (Table). Expecting a {kind} value instead."
            if len(arg.fields) != 1:
                return "Invalid schema, expected a one-column table."
            column = arg.fields[0][1]
            return None if column.is_open or coercible(column, FxType(kind)) else (
                f"Invalid argument type ({_name(column)}). Expecting a {kind} value instead."
            )
        if arg.kind == "Record" or arg.kind == "Void":
            return f"Invalid argument type ({_name(arg)}). Expecting a {kind} value instead."
        if kind == "DateTime" and arg.kind == "Boolean":
            return "Invalid argument type (Boolean). Expecting a DateTime value instead."
        if not coercible(arg, FxType(kind)):
            return f"Invalid argument type ({_name(arg)}). Expecting a {kind} value instead."
    return None


# Functions that give an option set value's backing value: which backing kind each takes.
_BACKING_CONVERTERS = {"Value": "Number", "Float": "Number", "Decimal": "Number", "Boolean": "Boolean"}


def check_call(
    name: str, sig: Signature, args: list[FxType], features: Features = POWER_FX_V1,
    enums: Mapping[str, OptionSet] | None = None,
) -> tuple[FxType, dict[int, str], list[tuple[int, str]]]:
    """(result type, runtime coercions by argument index, problems by argument index)."""
    problems: list[tuple[int, str]] = []
    coercions: dict[int, str] = {}
    result_positions = sig.results(len(args)) if sig.results is not None else []
    if name == "IfError" and features.v1 and len(args) > 2:
        # V1 (IfError.CheckTypesLatest): the last value's type comes first, then the fallbacks'.
        last_value = len(args) - 2 if len(args) % 2 == 0 else len(args) - 1
        result_positions = [last_value, *range(1, len(args), 2)]
    for index, arg in enumerate(args):
        if index in result_positions:
            continue
        if arg.kind == "Void" and name in _TAKES_VOID:
            continue
        problem = _check_param(sig.param(index), arg, sig.tabular, features.strongly_typed_builtin_enums, enums)
        if problem is not None:
            problems.append((index, problem))
    if name in _BACKING_CONVERTERS and args and args[0].kind == "Color":
        problems.append((0, "Expected text or number. We expect text or a number at this point in the formula."))
    if name in _BACKING_CONVERTERS and args:
        enum = _strict_enum(args[0])
        if enum is not None and enum.backing != _BACKING_CONVERTERS[name]:
            wanted = "Expected text or number. We expect text or a number at this point in the formula."
            problems.append((0, wanted if name != "Boolean" else f"The function '{name}' has some invalid arguments."))
    if name == "Text" and args and args[0].kind == "Color":
        problems.append((0, "Expected text or number. We expect text or a number at this point in the formula."))
    if name == "Concatenate" and concat_type(args).kind == "Option":
        return concat_type(args), coercions, problems
    if name == "Table":
        merged: FxType | None = None
        for index, arg in enumerate(args):
            if arg.kind in ("Blank", "Error", "Unknown"):
                continue
            if arg.kind == "Dynamic":
                arg = T.single_column(T.DYNAMIC)
            if arg.kind not in ("Record", "Table"):
                problems.append((index, "Only record or table values can be used in this context."))
                continue
            as_table = FxType("Table", arg.fields)
            if merged is not None and not T.aggregates_compatible(merged, as_table):
                problems.append((index, TABLE_MISMATCH))
                continue
            merged = as_table if merged is None else T.union(merged, as_table)
    if name == "Switch" and args:
        subject = args[0]
        matches = [i for i in range(1, len(args) - 1, 2) if i not in result_positions]
        for i in matches:
            if subject.is_open or args[i].is_open:
                continue
            if args[i].is_aggregate != subject.is_aggregate or not coercible(args[i], subject):
                problems.append((i, f"Invalid argument type ({_name(args[i])}). Expecting a {_name(subject)} value instead."))
    if features.v1 and sig.param(0) == "Table" and sig.is_scoped(1) and len(args) > 1 and args[0].kind in ("Blank", "Error"):
        # FunctionScopeInfo: with the V1 rules an untyped Blank (or an error) cannot define the
        # row scope of Filter, LookUp, Distinct, ForAll...
        problems.append((0, "Invalid argument type."))
    if features.v1 and name == "Filter" and len(args) > 2:
        problems.append((2, "Use the And operator to combine multiple predicates into the second argument."))
    problems.extend(_aggregate_problems(name, args))
    if result_positions:
        result = _agree(args, result_positions, coercions, problems, name, features.v1)
        if features.expression_chaining and result.kind == "Void" and name in ("If", "Switch"):
            # In a behaviour formula results that do not agree are allowed: the call has no
            # usable value (IfFunction.IsArgTypeInconsequential); using it is the error.
            problems[:] = [p for p in problems if p != (-1, MISMATCH)]
        return result, coercions, problems
    return sig.result_type(args), coercions, problems


# Functions that accept a value of no type (Void): they only look at whether it is an error.
_TAKES_VOID = frozenset({"IsError", "IfError", "With"})


def _agree(
    args: list[FxType],
    positions: list[int],
    coercions: dict[int, str],
    problems: list[tuple[int, str]],
    name: str,
    v1: bool = True,
) -> FxType:
    """The first result's type rules; the others must be coercible to it (and are coerced).
    Records and tables merge their fields; without the V1 rules they keep only the fields all
    of them have, with the same kind (DType's legacy union)."""
    first: FxType | None = None
    for i in positions:
        if args[i].kind not in ("Blank", "Error"):
            first = args[i]
            break
    if first is None:
        return T.BLANK
    if first.kind in ("Unknown", "Void"):
        if first.kind == "Void":
            problems.append((-1, MISMATCH))
        return first
    result = first
    for i in positions:
        t = args[i]
        if t.kind in ("Blank", "Error", "Unknown"):
            continue
        if t.kind == "Void":
            problems.append((-1, MISMATCH))
            return T.VOID
        if first.is_aggregate and not v1 and first.kind == t.kind:
            result = T.intersection(result, t)
            continue
        if first.is_aggregate or t.is_aggregate:
            if first.kind != t.kind or not T.aggregates_compatible(first, t):
                if name == "Coalesce":
                    problems.append((i, f"Invalid argument type ({_name(t)}). Expecting a {_name(first)} value instead."))
                else:
                    problems.append((-1, MISMATCH))
                return T.VOID
            result = T.union(result, t)
            continue
        if t.kind == "Option" and first.kind == "Option" and t.option_set != first.option_set:
            problems.append((-1, MISMATCH))
            return T.VOID
        if not coercible(t, first):
            if name == "Coalesce":
                problems.append((i, f"Invalid argument type ({_name(t)}). Expecting a {_name(first)} value instead."))
                continue
            problems.append((-1, MISMATCH))
            return T.VOID
        if t.kind != first.kind and (first.is_scalar or first.kind in ("Color", "Option")):
            coercions[i] = first.kind
    if not v1 and result.kind in _TIMES:
        # Before V1 a Date or Time mixed with a DateTime makes every result a DateTime.
        kinds = {args[i].kind for i in positions}
        if len(kinds & _TIMES) > 1:
            for i in positions:
                if args[i].kind == "DateTime":
                    coercions.pop(i, None)
                elif not args[i].is_open:
                    coercions[i] = "DateTime"
            return T.DATETIME
    return result


def check_literal_args(name: str, args: Sequence[ast.Node], types: Sequence[FxType]) -> list[tuple[int, str]]:
    """Problems Power Fx V1 finds in literal arguments before running: Text's format code (a
    format for text or a Boolean, and any code Power Fx would refuse, is a compile error; the
    rules before V1 are in prev1.py)."""
    if name != "Text" or len(args) < 2:
        return []
    if types[0].kind in ("Text", "Boolean", "Guid", "Option", "Color"):
        return [(1, NOT_FORMATTABLE)]
    code = constant_text(args[1])
    if code is not None and (len(code) > MAX_FORMAT_LENGTH or check_format(code) is None):
        return [(1, "Incorrect format specifier for 'Text'.")]
    return []


REGEX_FUNCTIONS = ("IsMatch", "Match", "MatchAll")


def constant_text(node: ast.Node) -> str | None:
    """The text a node always evaluates to (literals, `&` of constants, Match./MatchOptions.
    members), or None when it is not a constant."""
    if isinstance(node, ast.TextLit):
        return node.value
    if isinstance(node, ast.Binary) and node.op == "&" and node.left is not None and node.right is not None:
        left, right = constant_text(node.left), constant_text(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Interpolation):
        parts = [p if isinstance(p, str) else constant_text(p) for p in node.parts]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    if isinstance(node, ast.Call) and node.name in ("Char", "UniChar") and len(node.args) == 1:
        code = _constant_number(node.args[0])
        if code is None or not 0 < code <= 0x10FFFF or code != int(code) or (node.name == "Char" and code > 255):
            return None
        return chr(int(code))
    if isinstance(node, ast.Call) and node.name == "Concatenate":
        parts = [constant_text(a) for a in node.args]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    if isinstance(node, ast.Member):
        dotted = ast.dotted_name(node)
        if dotted is not None and dotted.count(".") == 1:
            enum, member = dotted.split(".")
            option_set = BUILTIN_OPTION_SETS.get(enum)
            if option_set is not None and option_set.backing == "Text":
                value = option_set.members.get(member)
                return value if isinstance(value, str) else None
    return None


def check_regex_call(name: str, args: Sequence[ast.Node]) -> tuple[FxType | None, list[tuple[int, str]]]:
    """IsMatch/Match/MatchAll (Power Fx V1; before V1 see prev1.py): the pattern (and options)
    must be constants Power Fx accepts; the result's fields are the pattern's named captures."""
    if name not in REGEX_FUNCTIONS or len(args) < 2:
        return None, []
    pattern = constant_text(args[1])
    if pattern is None:
        return None, [(1, "Regular expressions must be constant values.")]
    default = "c"
    options = default
    if len(args) > 2:
        given = constant_text(args[2])
        if given is None:
            return None, [(2, "MatchOptions must be a constant value.")]
        options = given if "c" in given else given + default
    try:
        info = check_pattern(pattern, options)
    except PatternError as exc:
        return None, [(1, f"Invalid regular expression: {exc}")]
    if name == "IsMatch":
        return T.BOOLEAN, []
    fields: dict[str, FxType] = {"FullMatch": T.TEXT, "StartMatch": T.NUMBER}
    if info.numbered:
        fields["SubMatches"] = T.single_column(T.TEXT)
    for capture in info.names:
        fields[capture] = T.TEXT
    return (T.record(fields) if name == "Match" else T.table(fields)), []


def _constant_number(node: ast.Node) -> float | None:
    if isinstance(node, ast.NumberLit):
        return node.value
    if isinstance(node, ast.Call) and node.name == "Hex2Dec" and len(node.args) == 1:
        text = constant_text(node.args[0])
        try:
            return float(int(text, 16)) if text is not None else None
        except ValueError:
            return None
    return None


SUMMARIZE_ARGUMENT = (
    "Summarize arguments must be either existing column names to group by or formulas named with the 'As' keyword."
)
_NOT_SCALAR = "Expected a text, numeric, boolean, or date/time value."


def check_summarize(args: Sequence[ast.Node], arg_types: Sequence[FxType]) -> tuple[FxType, list[tuple[int, str]]]:
    """Summarize(table, column, ..., formula As name, ...): the result type and the problems.

    Grouping columns are bare names of the table's columns; aggregates are formulas named with
    `As` (not a bare name), evaluated over each group's `ThisGroup`; both must give scalars, and
    the names must not repeat.  The table is not scoped with `As`, nor may it have a column
    named ThisGroup."""
    problems: list[tuple[int, str]] = []
    source = arg_types[0] if arg_types else T.UNKNOWN
    known = source.kind == "Table"
    if isinstance(args[0], ast.AsArg):
        problems.append((0, "Scoping the data source (usage of 'As' keyword) is not supported."))
    if known and source.field("ThisGroup") is not None:
        problems.append((0, "The data source contains a column named 'ThisGroup', which conflicts with a reserved name."))
    fields: list[tuple[str, FxType]] = []
    seen: set[str] = set()
    groups = 0
    for index in range(1, len(args)):
        arg = args[index]
        if isinstance(arg, ast.Name):
            groups += 1
            name, kind = arg.name, source.field(arg.name) if known else T.UNKNOWN
            if name == "ThisGroup":
                problems.append((index, "Column 'ThisGroup' conflicts with a reserved name."))
                continue
            if kind is None:
                problems.append((index, f"The specified column '{name}' does not exist."))
                continue
        elif isinstance(arg, ast.AsArg) and not isinstance(arg.expr, ast.Name):
            name, kind = arg.alias, arg_types[index]
        else:
            problems.append((index, SUMMARIZE_ARGUMENT))
            continue
        if kind.is_aggregate:
            problems.append((index, _NOT_SCALAR))
        if name in seen:
            problems.append((index, f"Column name conflict for '{name}'."))
        seen.add(name)
        fields.append((name, kind))
    if groups == 0:
        problems.append((len(args) - 1, "Summarize requires at least one grouping column."))
    return T.table(fields), problems


def summarize_scope(source: FxType, args: Sequence[ast.Node]) -> FxType:
    """The row scope of Summarize's aggregates: the grouping columns and ThisGroup."""
    if source.kind != "Table":
        return T.UNKNOWN
    fields = {a.name: source.field(a.name) for a in args[1:] if isinstance(a, ast.Name)}
    fields["ThisGroup"] = source
    return T.record((k, v) for k, v in fields.items() if v is not None)


def _patch_field_problem(name: str, old: FxType, new: FxType) -> str | None:
    """Why an update's field cannot replace the field it patches (None: it can)."""
    if old.kind in ("Unknown", "Error") or new.kind in ("Unknown", "Error"):
        return None
    if new.kind == "Blank":
        return None
    same = old.kind == new.kind or (old.kind in ("Date", "DateTime") and new.kind in ("Date", "DateTime"))
    if same and old.kind == "Record" and set(old.field_names) != set(new.field_names):
        same = False
    if same:
        return None
    return f"The type of this argument '{name}' does not match the expected type '{old.kind}'. Found type '{new.kind}'."


def check_patch(arg_types: Sequence[FxType]) -> tuple[FxType, list[tuple[int, str]]]:
    """Patch(record, update, ...): the result type and the problems (updates that are not
    records, fields whose type changes)."""
    problems: list[tuple[int, str]] = []
    fields: dict[str, FxType] = dict(arg_types[0].fields) if arg_types and arg_types[0].kind == "Record" else {}
    known = bool(arg_types) and arg_types[0].kind in ("Record", "Blank")
    for index, t in enumerate(arg_types):
        if t.kind in ("Unknown", "Error", "Blank", "Dynamic"):
            known = known and t.kind == "Blank"
            continue
        if t.kind != "Record":
            problems.append((index, "Cannot use a non-record value in this context."))
            continue
        for name, new in t.fields:
            old = fields.get(name)
            problem = None if old is None or index == 0 else _patch_field_problem(name, old, new)
            if problem is not None:
                problems.append((index, problem))
            elif new.kind != "Blank" or old is None:
                fields[name] = new
    return (T.record(fields) if known else T.UNKNOWN), problems


def join_names(args: Sequence[ast.Node]) -> tuple[str, str]:
    """The names Join's rows go by: the tables' `As` names, else LeftRecord and RightRecord."""
    left = args[0].alias if args and isinstance(args[0], ast.AsArg) and args[0].alias else "LeftRecord"
    right = args[1].alias if len(args) > 1 and isinstance(args[1], ast.AsArg) and args[1].alias else "RightRecord"
    return left, right


def join_scope(left: FxType, right: FxType, args: Sequence[ast.Node]) -> FxType:
    """The row scope of Join's predicate and outputs: the two rows by name."""
    left_name, right_name = join_names(args)
    return T.record({left_name: T.row_type(left), right_name: T.row_type(right)})


def check_join(
    args: Sequence[ast.Node], arg_types: Sequence[FxType]
) -> tuple[FxType, list[tuple[int, str]], tuple[tuple[str, str], ...]]:
    """Join(left, right, predicate, JoinType.X, side.col As name, ...): the result type, the
    problems, and for each output its side ("left"/"right") and column."""
    problems: list[tuple[int, str]] = []
    left_name, right_name = join_names(args)
    dotted = ast.dotted_name(args[3]) if len(args) > 3 else None
    if dotted is None or not dotted.startswith("JoinType."):
        problems.append((3, "Expected plain 'JoinType' enum value. Different enums or passing it through another function is not supported."))
    left_row, right_row = T.row_type(arg_types[0]), T.row_type(arg_types[1])
    fields: dict[str, FxType] = dict(left_row.fields)
    sources: list[tuple[str, str]] = []
    outputs: list[tuple[int, str, FxType]] = []
    for index in range(4, len(args)):
        arg = args[index]
        expr = arg.expr if isinstance(arg, ast.AsArg) else None
        if not isinstance(arg, ast.AsArg):
            problems.append((index, "Arguments starting from the 5th position are meant to rename columns and are expected to be 'As' node arguments i.e LeftRecord.Name As NewName."))
            sources.append(("right", ""))
            continue
        if not (isinstance(expr, ast.Member) and isinstance(expr.obj, ast.Name) and expr.obj.name in (left_name, right_name)):
            problems.append((index, f"The value is invalid in this context. It should be a reference to either '{left_name}' or '{right_name}' scope name."))
            sources.append(("right", ""))
            continue
        side = "left" if expr.obj.name == left_name else "right"
        sources.append((side, expr.field_name))
        row = left_row if side == "left" else right_row
        outputs.append((index, arg.alias, row.field(expr.field_name) or T.UNKNOWN))
        if side == "left":
            fields.pop(expr.field_name, None)
    if not any(side == "right" and column for side, column in sources):
        problems.append((1, f"At least one '{right_name}' column must be declared to compose the join result."))
    for index, name, kind in outputs:
        if name in fields:
            problems.append((index, f"'{name}' can not be added/renamed due to colission with another column with same name."))
        fields[name] = kind
    return T.table(fields), problems, tuple(sources)


_NUMBER_AGGREGATES = frozenset({"Sum", "Min", "Max", "Average", "StdevP", "VarP"})


def _aggregate_problems(name: str, args: Sequence[FxType]) -> list[tuple[int, str]]:
    """Sum/Min/Max... take numbers (or a table and a formula): a record or table where a number
    goes does not compile; Count/CountA take a one-column table (Count: of numbers)."""
    problems: list[tuple[int, str]] = []
    if args and args[0].kind == "Dynamic" and (name in _NUMBER_AGGREGATES or name == "Filter"):
        # An untyped array has no record scope to run a formula in (Power Fx: convert it first).
        return [(0, "Untyped objects cannot be used as the first argument to functions which support record scopes."
                 if name != "Filter" else "Invalid argument type.")]
    if name in _NUMBER_AGGREGATES:
        table_form = len(args) == 2 and args[0].kind == "Table"
        for index, t in enumerate(args):
            if table_form and index == 0:
                continue
            if t.kind in ("Record", "Table"):
                problems.append((index, "Expected number. We expect a number at this point in the formula."))
    elif name in ("Count", "CountA") and args and args[0].kind == "Table":
        columns = args[0].fields
        if len(columns) != 1:  # several columns, or none (`[]`)
            problems.append((0, f"The first argument of '{name}' should be a one-column table."))
        elif name == "Count" and columns[0][1].kind not in ("Number", "Unknown", "Blank", "Error", "Dynamic"):
            problems.append((0, f"Invalid schema, expected a column of Number values for '{columns[0][0]}'."))
    return problems
