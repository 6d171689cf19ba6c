"""Compile a syntax tree to nested Python closures once, so evaluation never walks the tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from postcall.diagnostics import Diagnostic, Severity, SourceSpan, did_you_mean
from postcall.powerfx import ast
from postcall.powerfx import operators as ops
from postcall.powerfx.codes import PFX_ARITY, PFX_UNKNOWN_FUNCTION
from postcall.powerfx.coerce import compare, equals, to_boolean
from postcall.powerfx.enums import BUILTIN_ENUMS
from postcall.powerfx.functions import FUNCTIONS, CallSite, Fn
from postcall.powerfx.runtime import EMPTY_RECORD, WELL_KNOWN_ROOTS, Frame
from postcall.powerfx.values import (
    ErrorKind,
    ErrorValue,
    Record,
    Table,
    UntypedObject,
    Value,
)

_MISSING = object()


def get_field(value: Value, name: str) -> Value:
    """`value.name`: record field (missing is Blank), untyped object property, table column."""
    tp = type(value)
    if tp is Record:
        return value._fields.get(name)  # type: ignore[union-attr]
    if value is None:
        return None
    if tp is ErrorValue:
        return value
    if isinstance(value, Mapping):
        return value.get(name)
    if isinstance(value, UntypedObject):
        raw = value.raw
        if isinstance(raw, dict):
            inner = raw.get(name)
            return None if inner is None else UntypedObject(inner)
        if raw is None:
            return None
        return ErrorValue(ErrorKind.InvalidArgument, f"The untyped value has no property {name!r}.")
    if isinstance(value, Table):
        return Table.of_values(
            (get_field(row, name) if not isinstance(row, ErrorValue) else row for row in value.rows),
            name,
        )
    return ErrorValue(ErrorKind.InvalidArgument, f"Cannot read field {name!r} of a non-record value.")


def lookup_name(frame: Frame, name: str) -> Value:
    """Resolve a plain name: row scopes (innermost first), then the context, then option sets."""
    for row in reversed(frame.rows):
        if row.alias is not None:
            if row.alias == name:
                return row.record
            continue
        if name == "ThisRecord":
            return row.record
        record = row.record
        if type(record) is Record:
            if name in record._fields:
                return record._fields[name]
            if name in row.columns:
                return None
        elif isinstance(record, Mapping) and name in record:
            return record[name]  # type: ignore[no-any-return]
        elif (record is None or type(record) is ErrorValue) and name in row.columns:
            return record
    value = frame.scope.get(name, _MISSING)
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    if name in frame.ctx.enums:
        return Record(frame.ctx.enums[name])
    if name in BUILTIN_ENUMS:
        return BUILTIN_ENUMS[name]
    if name in WELL_KNOWN_ROOTS:
        return EMPTY_RECORD
    if name in ("FirstError", "AllErrors") and frame.errors_in_scope:
        err = frame.errors_in_scope[-1]
        from postcall.powerfx.functions.errors import error_record, error_table

        return error_record(err) if name == "FirstError" else error_table(err)
    return ErrorValue(ErrorKind.NotFound, f"The name {name!r} is not defined.")


class Compiler:
    """Builds closures and collects diagnostics for unknown functions and wrong arities."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        self.names: set[str] = set()
        self.functions: set[str] = set()

    def compile(self, node: ast.Node) -> Fn:
        method: Callable[[ast.Node], Fn] = getattr(self, "_" + type(node).__name__)
        return method(node)

    # --- literals -------------------------------------------------------------------
    def _NumberLit(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.NumberLit)
        value: Value = ops.numeric(node.value)
        return lambda frame: value

    def _TextLit(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.TextLit)
        value = node.value
        return lambda frame: value

    def _BoolLit(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.BoolLit)
        value = node.value
        return lambda frame: value

    def _RecordLit(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.RecordLit)
        fields = [(name, self.compile(expr)) for name, expr in node.fields]

        def record(frame: Frame) -> Value:
            return Record({name: fn(frame) for name, fn in fields})

        return record

    def _TableLit(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.TableLit)
        items = [self.compile(item) for item in node.items]
        all_records = bool(node.items) and all(isinstance(i, ast.RecordLit) for i in node.items)

        def table(frame: Frame) -> Value:
            values = [fn(frame) for fn in items]
            if all_records or (values and all(isinstance(v, Record) for v in values)):
                return Table(values)
            return Table.of_values(values)

        return table

    def _Interpolation(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Interpolation)
        parts: list[str | Fn] = [p if isinstance(p, str) else self.compile(p) for p in node.parts]

        def interpolate(frame: Frame) -> Value:
            out: Value = ""
            limit = frame.ctx.limits.max_text_length
            for part in parts:
                piece = part if isinstance(part, str) else part(frame)
                out = ops.concat(out, piece, limit)
                if type(out) is ErrorValue:
                    return out
            return out

        return interpolate

    # --- names ----------------------------------------------------------------------
    def _Name(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Name)
        name = node.name
        self.names.add(name)

        def read_name(frame: Frame) -> Value:
            if not frame.rows:
                value = frame.scope.get(name, _MISSING)
                if value is not _MISSING:
                    return value  # type: ignore[return-value]
            return lookup_name(frame, name)

        return read_name

    def _Member(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Member)
        dotted = ast.dotted_name(node)
        if dotted is not None:
            self.names.add(dotted)
            parts = dotted.split(".")
            if len(parts) == 3 and parts[0] not in BUILTIN_ENUMS:
                # The hot path of conditions: System.Conversation.EndReason.
                root, f1, f2 = parts

                def read_chain3(frame: Frame) -> Value:
                    value = frame.scope.get(root, _MISSING) if not frame.rows else _MISSING
                    if value is _MISSING:
                        value = lookup_name(frame, root)
                    if type(value) is Record:
                        value = value._fields.get(f1)
                    else:
                        value = get_field(value, f1)  # type: ignore[arg-type]
                    if type(value) is Record:
                        return value._fields.get(f2)
                    return get_field(value, f2)

                return read_chain3
        obj = self.compile(node.obj) if node.obj is not None else (lambda frame: None)
        # Only record the innermost dotted chain once.
        field_name = node.field_name

        def read_member(frame: Frame) -> Value:
            value = obj(frame)
            if type(value) is Record:
                return value._fields.get(field_name)
            return get_field(value, field_name)

        return read_member

    # --- operators ------------------------------------------------------------------
    def _Unary(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Unary)
        operand = self.compile(node.operand) if node.operand is not None else (lambda frame: None)
        span = node.span
        func = {"-": ops.negate, "!": ops.logical_not, "%": ops.percent, "+": _identity_number}[node.op]

        def unary(frame: Frame) -> Value:
            return _with_span(func(operand(frame)), span)

        return unary

    def _Binary(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Binary)
        assert node.left is not None and node.right is not None
        left = self.compile(node.left)
        right = self.compile(node.right)
        op = node.op
        span = node.span
        if op == "&&":

            def and_(frame: Frame) -> Value:
                a = left(frame)
                if a is False:
                    return False
                a = a if type(a) is bool else to_boolean(a)
                if type(a) is ErrorValue:
                    return a
                if not a:
                    return False
                b = right(frame)
                return b if type(b) is bool else to_boolean(b)

            return and_
        if op == "||":

            def or_(frame: Frame) -> Value:
                a = left(frame)
                if a is True:
                    return True
                a = a if type(a) is bool else to_boolean(a)
                if type(a) is ErrorValue:
                    return a
                if a:
                    return True
                b = right(frame)
                return b if type(b) is bool else to_boolean(b)

            return or_
        if op == "=":
            # Fast path for text constants (the usual condition shape).
            if isinstance(node.right, ast.TextLit):
                const = node.right.value

                def eq_text(frame: Frame) -> Value:
                    a = left(frame)
                    if type(a) is str:
                        return a == const
                    return _with_span(equals(a, const), span)

                return eq_text

            def eq(frame: Frame) -> Value:
                return _with_span(equals(left(frame), right(frame)), span)

            return eq
        if op == "<>":

            def ne(frame: Frame) -> Value:
                result = equals(left(frame), right(frame))
                if type(result) is bool:
                    return not result
                return _with_span(result, span)

            return ne
        if op in ("<", "<=", ">", ">="):

            def cmp(frame: Frame) -> Value:
                return _with_span(compare(op, left(frame), right(frame)), span)

            return cmp
        if op == "&":

            def amp(frame: Frame) -> Value:
                return _with_span(ops.concat(left(frame), right(frame), frame.ctx.limits.max_text_length), span)

            return amp
        if op in ("in", "exactin"):
            exact = op == "exactin"

            def member_of(frame: Frame) -> Value:
                return _with_span(ops.membership(left(frame), right(frame), exact), span)

            return member_of
        func = {
            "+": ops.add,
            "-": ops.subtract,
            "*": ops.multiply,
            "/": ops.divide,
            "^": ops.power,
        }[op]

        def arith(frame: Frame) -> Value:
            return _with_span(func(left(frame), right(frame)), span)

        return arith

    # --- calls ----------------------------------------------------------------------
    def _AsArg(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.AsArg)
        return self.compile(node.expr) if node.expr is not None else (lambda frame: None)

    def _Call(self, node: ast.Node) -> Fn:
        assert isinstance(node, ast.Call)
        self.functions.add(node.name)
        args = [self.compile(arg) for arg in node.args]
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            suggestion = did_you_mean(node.name, FUNCTIONS)
            hint = f"did you mean '{suggestion}'?" if suggestion else None
            message = f"Unknown function '{node.name}'." + (f" Did you mean '{suggestion}'?" if suggestion else "")
            self.diagnostics.append(
                Diagnostic(PFX_UNKNOWN_FUNCTION, Severity.ERROR, message, node.span, hint)
            )
            return lambda frame: ErrorValue(ErrorKind.InvalidFunctionUsage, message, node.span)
        count = len(args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            if spec.max_args is None:
                expected = f"at least {spec.min_args}"
            elif spec.min_args == spec.max_args:
                expected = str(spec.min_args)
            else:
                expected = f"{spec.min_args} to {spec.max_args}"
            message = f"'{node.name}' takes {expected} argument(s), got {count}."
            self.diagnostics.append(Diagnostic(PFX_ARITY, Severity.ERROR, message, node.span))
            return lambda frame: ErrorValue(ErrorKind.InvalidFunctionUsage, message, node.span)
        site = CallSite(
            node.name,
            node.span,
            tuple(a.alias if isinstance(a, ast.AsArg) else None for a in node.args),
            tuple(a.span for a in node.args),
        )
        return spec.build(site, args)


def _identity_number(value: Value) -> Value:
    from postcall.powerfx.coerce import to_number

    return to_number(value)


def _with_span(value: Value, span: SourceSpan) -> Value:
    if type(value) is ErrorValue and value.span is None:
        value.span = span
    return value
