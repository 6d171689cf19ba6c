"""Compile a syntax tree to nested Python closures once, so evaluation never walks the tree.

While compiling, each node also gets a static type (types.py): it decides the implicit
coercions Power Fx applies (an `If` whose first result is text turns its other results into
text) and the type errors reported before evaluation (PFX303, PFX304).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Mapping

from postcall.diagnostics import Diagnostic, Severity, SourceSpan, did_you_mean
from postcall.powerfx import ast, prev1
from postcall.powerfx import numbers as nums
from postcall.powerfx import operators as ops
from postcall.powerfx import types as T
from postcall.powerfx.codes import PFX_ARITY, PFX_BAD_NAME, PFX_TYPE, PFX_UNKNOWN_FUNCTION
from postcall.powerfx.coerce import (
    coerce_to_kind,
    coerce_to_type,
    compare,
    equals,
    to_boolean,
    to_number,
)
from postcall.powerfx.enums import BUILTIN_OPTION_SETS, OptionSet
from postcall.powerfx.features import POWER_FX_V1, Features
from postcall.powerfx.functions import FUNCTIONS, CallSite, Fn, FunctionSpec
from postcall.powerfx.names import MISSING, RAW_TYPES, get_field, lookup_name, normalize
from postcall.powerfx.runtime import Frame
from postcall.powerfx.shaping import SHAPING, check_shaping
from postcall.powerfx.signatures import signature
from postcall.powerfx.static import (
    check_binary,
    check_call,
    check_join,
    check_literal_args,
    check_patch,
    check_regex_call,
    check_summarize,
    column_kinds,
    comparable,
    constant_text,
    enum_type,
    join_scope,
    summarize_scope,
    table_literal_type,
    unary_problem,
)
from postcall.powerfx.typeargs import TYPE_ARGUMENTS, TypeArgError, TypeSpec, type_argument
from postcall.powerfx.types import FxType
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Record, Table, Value


class _StaticRow:
    """A row scope known at compile time: its alias and record type."""

    __slots__ = ("alias", "row")

    def __init__(self, alias: str | None, row: FxType) -> None:
        self.alias = alias
        self.row = row


class Compiler:
    """Builds closures and collects diagnostics (unknown functions, arities, types, names)."""

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        known_names: Collection[str] | None = None,
        *,
        number_is_float: bool = True,
        features: Features = POWER_FX_V1,
        functions: Mapping[str, FunctionSpec] | None = None,
        option_sets: Mapping[str, OptionSet] | None = None,
    ) -> None:
        self.diagnostics = diagnostics
        self.features = features
        # The host's function table: the built-in one unless a host adds or removes functions.
        self.function_table: Mapping[str, FunctionSpec] = FUNCTIONS if functions is None else functions
        # Option sets formulas may name: the built-in ones and the host's (`option_sets`).
        # Without strongly typed enums (pre-V1 hosts) their members are their backing values.
        sets = {**BUILTIN_OPTION_SETS, **(option_sets or {})}
        strict = features.strongly_typed_builtin_enums
        self.enums: dict[str, OptionSet] = {k: v if strict else v.pre_v1() for k, v in sets.items()}
        self._enum_types: dict[str, FxType] = {}
        # Decimal mode (NumberIsFloat off): literals and coerced numbers are Decimals.
        self.decimal = not number_is_float
        self.functions: set[str] = set()
        self.types: dict[int, FxType] = {}
        self.known_names = known_names
        self._rows: list[_StaticRow] = []
        self._error_scopes = 0
        # Name nodes that no row scope, error scope or built-in option set resolves: what the
        # context's scope must provide (see formula.free_names).
        self.free: list[ast.Name] = []

    # --- helpers --------------------------------------------------------------------
    def type_of(self, node: ast.Node) -> FxType:
        return self.types.get(id(node), T.UNKNOWN)

    def error(self, code: str, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, message, span, hint))

    def compile(self, node: ast.Node) -> Fn:
        method: Callable[[ast.Node], tuple[Fn, FxType]] = getattr(self, "_" + type(node).__name__)
        fn, fx_type = method(node)
        self.types[id(node)] = fx_type
        return fn

    # --- literals -------------------------------------------------------------------
    def _NumberLit(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.NumberLit)
        value: Value = ops.numeric(node.value)
        if self.decimal:
            digits = node.text.lstrip("+-")
            negative = node.text[: len(node.text) - len(digits)].count("-") % 2 == 1  # `-(-1)` folds to "--1"
            exact = nums.from_text(("-" if negative else "") + digits)
            if isinstance(exact, ErrorValue):
                self.error(PFX_TYPE, "Numeric value is too large.", node.span)
                return (lambda frame: exact), T.ERROR
            value = exact
        return (lambda frame: value), T.NUMBER

    def _TextLit(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.TextLit)
        value = node.value
        return (lambda frame: value), T.TEXT

    def _BoolLit(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.BoolLit)
        value = node.value
        return (lambda frame: value), T.BOOLEAN

    def _RecordLit(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.RecordLit)
        fields = [(name, self.compile(expr)) for name, expr in node.fields]
        fx_type = T.record({name: self.type_of(expr) for name, expr in node.fields})

        def record(frame: Frame) -> Value:
            return Record({name: fn(frame) for name, fn in fields})

        return record, fx_type

    def _TableLit(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.TableLit)
        items = [self.compile(item) for item in node.items]
        item_types = [self.type_of(i) for i in node.items]
        fx_type, problem = table_literal_type(item_types)
        if problem is not None:
            self.error(PFX_TYPE, problem, node.span)
        records = fx_type.kind == "Table" and any(t.kind == "Record" for t in item_types)
        first_scalar = next((t for t in item_types if t.is_scalar), None)
        if first_scalar is not None and not records:
            items = [
                _coercing(fn, first_scalar.kind) if t.is_scalar and t.kind != first_scalar.kind else fn
                for fn, t in zip(items, item_types, strict=True)
            ]
        if records and fx_type.kind == "Table":
            # Every row takes the table's column types (the first row's, field by field).
            row_type = T.row_type(fx_type)
            items = [
                fn if t == row_type else _coerced_to(fn, row_type)
                for fn, t in zip(items, item_types, strict=True)
            ]
        columns = fx_type.field_names if fx_type.kind == "Table" else None

        def table(frame: Frame) -> Value:
            values = [fn(frame) for fn in items]
            if records or (values and all(isinstance(v, Record) for v in values)):
                return Table(values, columns if records else None)
            return Table.of_values(values)

        return table, fx_type

    def _Interpolation(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Interpolation)
        parts: list[str | Fn] = []
        for p in node.parts:
            if isinstance(p, str):
                parts.append(p)
                continue
            parts.append(self.compile(p))
            hole = self.type_of(p)
            if hole.is_aggregate or hole.kind == "Void":
                self.error(PFX_TYPE, f"A {hole.kind} cannot be placed in interpolated text.", p.span)

        def interpolate(frame: Frame) -> Value:
            out: Value = ""
            limit = frame.ctx.limits.max_text_length
            for part in parts:
                piece = part if isinstance(part, str) else part(frame)
                out = ops.concat(out, piece, limit)
                if type(out) is ErrorValue:
                    return out
            return out

        return interpolate, T.TEXT

    def _Chain(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Chain)
        items = [self.compile(item) for item in node.items]

        def chain(frame: Frame) -> Value:
            # Each runs; the last gives the value, unless some gave errors: then all of them.
            errors: list[ErrorValue] = []
            value: Value = None
            for item in items:
                value = item(frame)
                if type(value) is ErrorValue:
                    errors.append(value)
            return ErrorValue.merge(errors) if errors else value

        return chain, self.type_of(node.items[-1])

    # --- names ----------------------------------------------------------------------
    def _resolve_static(self, node: ast.Name) -> FxType:
        name = node.name
        for scope in reversed(self._rows):
            if scope.alias is not None:
                if scope.alias == name:
                    return scope.row
                continue
            if name == "ThisRecord":
                return scope.row
            row = scope.row
            if row.kind == "Record":
                found = row.field(name)
                if found is not None:
                    return found
            elif row.kind == "Unknown":
                return T.UNKNOWN
        if name in ("FirstError", "AllErrors") and self._error_scopes:
            error_record = T.record({"Kind": T.NUMBER, "Message": T.TEXT})
            return error_record if name == "FirstError" else T.FxType("Table", error_record.fields)
        if name in self.enums:
            return self._enum_type(name)
        if not any(_opaque(s) for s in self._rows):
            self.free.append(node)
        if self.known_names is not None and name not in self.known_names:
            candidates = list(self.known_names) + [s.alias for s in self._rows if s.alias] + [
                f for s in self._rows if s.row.kind == "Record" for f in s.row.field_names
            ]
            suggestion = did_you_mean(name, candidates)
            self.error(
                PFX_BAD_NAME,
                f"Name isn't valid. '{name}' isn't recognized." + (f" Did you mean '{suggestion}'?" if suggestion else ""),
                node.span,
                f"did you mean '{suggestion}'?" if suggestion else None,
            )
            return T.ERROR
        return T.UNKNOWN

    def _enum_type(self, name: str) -> FxType:
        fx_type = self._enum_types.get(name)
        if fx_type is None:
            fx_type = self._enum_types[name] = enum_type(self.enums[name])
        return fx_type

    def _enum_named(self, node: ast.Node) -> OptionSet | None:
        """The option set a name resolves to at compile time (None: a name read at run time)."""
        if not isinstance(node, ast.Name) or node.name not in self.enums:
            return None
        return self.enums[node.name] if self.types.get(id(node)) is self._enum_types.get(node.name) else None

    def _Name(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Name)
        name = node.name
        fx_type = self._resolve_static(node)
        if name in self.enums and fx_type is self._enum_types.get(name):
            members = self.enums[name].record()
            return _constant(members), fx_type

        def read_name(frame: Frame) -> Value:
            if not frame.rows:
                value = frame.scope.get(name, MISSING)
                if value is not MISSING:
                    return value if type(value) not in RAW_TYPES else normalize(value)  # type: ignore[return-value]
            return lookup_name(frame, name)

        return read_name, fx_type

    def _member_type(self, node: ast.Member, obj_type: FxType) -> FxType:
        name = node.field_name
        if obj_type.kind == "Record":
            found = obj_type.field(name)
            if found is None:
                if obj_type.fields or self.known_names is not None:
                    self.error(PFX_BAD_NAME, f"Name isn't valid. '{name}' isn't a field of {obj_type}.", node.span)
                    return T.ERROR
                return T.UNKNOWN
            return found
        if obj_type.kind == "Table":
            found = obj_type.field(name)
            return T.table({name: found}) if found is not None else T.UNKNOWN
        if obj_type.kind == "Dynamic":
            return T.DYNAMIC
        if obj_type.kind in ("Option", "Color"):
            self.error(PFX_BAD_NAME, f"Name isn't valid. A {obj_type} value has no field '{name}'.", node.span)
            return T.ERROR
        if obj_type.is_scalar:
            self.error(PFX_TYPE, f"The '.' operator cannot be used on {obj_type.kind} values.", node.span)
            return T.ERROR
        return T.UNKNOWN

    def _Member(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Member)
        obj_node = node.obj
        assert obj_node is not None
        dotted = ast.dotted_name(node)
        parts = dotted.split(".") if dotted is not None else []
        obj = self.compile(obj_node)
        fx_type = self._member_type(node, self.type_of(obj_node))
        option_set = self._enum_named(obj_node)
        if option_set is not None:
            # `StartOfWeek.Monday`: resolved here, once; evaluation reads a constant.
            member: Value = option_set.member(node.field_name)
            if not option_set.strict and member is not None:
                # Without strongly typed enums a member is its backing value.
                member = option_set.members[member.name]  # type: ignore[assignment,union-attr]
                if self.decimal and type(member) is float:
                    member = nums.from_float(member)
            return _constant(member), fx_type
        if len(parts) == 3 and parts[0] not in self.enums:
            # The hot path of conditions: System.Conversation.EndReason.
            root, f1, f2 = parts

            def read_chain3(frame: Frame) -> Value:
                value = frame.scope.get(root, MISSING) if not frame.rows else MISSING
                if value is MISSING:
                    value = lookup_name(frame, root)
                if type(value) is Record:
                    value = value._fields.get(f1)
                else:
                    value = get_field(value, f1)  # type: ignore[arg-type]
                if type(value) is Record:
                    return value._fields.get(f2)
                return get_field(value, f2)

            return read_chain3, fx_type
        if len(parts) == 2 and parts[0] not in self.enums:
            # Topic.x, Global.y: one lookup in the scope, one in the record.
            root, f1 = parts

            def read_chain2(frame: Frame) -> Value:
                value = frame.scope.get(root, MISSING) if not frame.rows else MISSING
                if value is MISSING:
                    value = lookup_name(frame, root)
                if type(value) is Record:
                    return value._fields.get(f1)
                return get_field(value, f1)  # type: ignore[arg-type]

            return read_chain2, fx_type
        field_name = node.field_name

        def read_member(frame: Frame) -> Value:
            value = obj(frame)
            if type(value) is Record:
                return value._fields.get(field_name)
            return get_field(value, field_name)

        return read_member, fx_type

    # --- operators ------------------------------------------------------------------
    def _Unary(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Unary) and node.operand is not None
        operand = self.compile(node.operand)
        operand_type = self.type_of(node.operand)
        span = node.span
        func: Callable[[Value], Value] = {"-": ops.negate, "!": ops.logical_not, "%": ops.percent, "+": to_number}[node.op]
        if self.decimal and node.op in ("-", "%"):
            func = functools.partial(ops.negate if node.op == "-" else ops.percent, mode=True)
        if node.op == "!":
            fx_type = T.BOOLEAN
        elif node.op == "-" and operand_type.kind in ("Time", "Date", "DateTime"):
            fx_type = operand_type  # a negated date is still a date
        else:
            fx_type = T.NUMBER
        if operand_type.is_aggregate:
            self.error(PFX_TYPE, f"The operator '{node.op}' cannot be used on a {operand_type.kind}.", span)
        elif node.op == "!" and operand_type.kind in ("Date", "DateTime", "Time") and self.features.v1:
            self.error(PFX_TYPE, "Invalid argument type. Expecting one of the following: Boolean, Number, Decimal, Text, Dynamic.", span)
        problem = unary_problem(node.op, operand_type)
        if problem is not None:
            self.error(PFX_TYPE, problem, node.operand.span)

        def unary(frame: Frame) -> Value:
            return _with_span(func(operand(frame)), span)

        return unary, fx_type

    def _Binary(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Binary)
        assert node.left is not None and node.right is not None
        left = self.compile(node.left)
        right = self.compile(node.right)
        op = node.op
        span = node.span
        left_type, right_type = self.type_of(node.left), self.type_of(node.right)
        fx_type, problem = check_binary(op, left_type, right_type, self.features)
        if op in ("+", "-"):
            # A Blank typed as a date or time takes part as that type's zero (Date(1899,12,30),
            # Time(0,0,0)), so `If(false, Date(2023,1,1)) + 2` is still a date.
            left, right = _blank_as_zero(left, left_type), _blank_as_zero(right, right_type)
        if problem is not None:
            self.error(PFX_TYPE, problem, span)
        elif op in ("=", "<>") and not comparable(left_type, right_type):
            # Without the V1 rules values of kinds that cannot be compared are simply unequal.
            return prev1.never_equal(left, right, op == "<>"), fx_type
        fn = _binary_closure(op, left, right, span, node, self.decimal)
        if fx_type.kind == "Option" and fx_type.enum is not None:
            fn = _to_option(fn, fx_type.enum)  # `JSONFormat.IndentFour & JSONFormat.Compact`
        return fn, fx_type

    # --- calls ----------------------------------------------------------------------
    def _AsArg(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.AsArg) and node.expr is not None
        fn = self.compile(node.expr)
        return fn, self.type_of(node.expr)

    def _Call(self, node: ast.Node) -> tuple[Fn, FxType]:
        assert isinstance(node, ast.Call)
        self.functions.add(node.name)
        spec = self.function_table.get(node.name)
        sig = spec.signature if spec is not None and spec.signature is not None else signature(node.name)
        args: list[Fn] = []
        arg_types: list[FxType] = []
        aliases = tuple(a.alias if isinstance(a, ast.AsArg) else None for a in node.args)
        scope_row: _StaticRow | None = None
        if node.name == "Type":
            message = "Unsupported usage: Type function can only be used in type arguments and type declarations."
            self.error(PFX_TYPE, message, node.span)
            return (lambda frame: ErrorValue(ErrorKind.InvalidFunctionUsage, message, node.span)), T.ERROR
        type_index = TYPE_ARGUMENTS.get(node.name)
        type_arg: TypeSpec | None = None
        for index, arg in enumerate(node.args):
            if index == type_index:
                # Not a value: a type, read from the syntax (postcall.powerfx.typeargs).
                try:
                    type_arg = type_argument(arg, node)
                except TypeArgError as exc:
                    for where, problem in exc.problems:
                        self.error(PFX_TYPE, problem, where)
                args.append(_constant(None))
                self.types[id(arg)] = T.UNKNOWN
                arg_types.append(T.UNKNOWN)
                continue
            if isinstance(arg, ast.Name) and spec is not None and index in spec.name_args:
                args.append(_constant(arg.name))
                self.types[id(arg)] = T.TEXT
                arg_types.append(T.TEXT)
                continue
            if (
                isinstance(arg, ast.Name)
                and self.features.support_column_names_as_identifiers
                and is_column_identifier(node.name, index)
                and not _sort_by_value(node.name, arg, arg_types)
            ):
                args.append(_constant(arg.name))
                self.types[id(arg)] = T.TEXT
                arg_types.append(T.TEXT)
                continue
            pushed = False
            if index >= 1 and sig.is_scoped(index) and scope_row is not None:
                self._rows.append(scope_row)
                pushed = True
            error_scope = node.name == "IfError" and index % 2 == 1 and index < len(node.args) - (len(node.args) % 2)
            if error_scope:
                self._error_scopes += 1
            try:
                args.append(self.compile(arg))
            finally:
                if pushed:
                    self._rows.pop()
                if error_scope:
                    self._error_scopes -= 1
            arg_types.append(self.type_of(arg))
            if index == 0:
                scope_row = self._row_scope(node.name, arg_types[0], aliases[0] if aliases else None)
                if node.name == "Summarize":  # a group: its key columns and ThisGroup, its rows
                    scope_row = _StaticRow(None, summarize_scope(arg_types[0], node.args))
            if index == 1 and node.name == "Join":  # the two rows, by name
                scope_row = _StaticRow(None, join_scope(arg_types[0], arg_types[1], node.args))
        if spec is None:
            suggestion = did_you_mean(node.name, self.function_table)
            message = f"Unknown function '{node.name}'." + (f" Did you mean '{suggestion}'?" if suggestion else "")
            self.error(PFX_UNKNOWN_FUNCTION, message, node.span, f"did you mean '{suggestion}'?" if suggestion else None)
            return (lambda frame: ErrorValue(ErrorKind.InvalidFunctionUsage, message, node.span)), T.ERROR
        count = len(args)
        min_args = spec.min_args
        if node.name in ("FirstN", "LastN") and self.features.first_last_n_requires_second_arguments:
            min_args = 2  # FirstLastNRequiresSecondArguments (V1): no default count of 1
        if count < min_args or (spec.max_args is not None and count > spec.max_args):
            if spec.max_args is None:
                expected = f"at least {min_args}"
            elif min_args == spec.max_args:
                expected = str(min_args)
            else:
                expected = f"{min_args} to {spec.max_args}"
            message = f"'{node.name}' takes {expected} argument(s), got {count}."
            self.error(PFX_ARITY, message, node.span)
            return (lambda frame: ErrorValue(ErrorKind.InvalidFunctionUsage, message, node.span)), T.ERROR
        result_type, coercions, problems = check_call(node.name, sig, arg_types, self.features, self.enums)
        v1 = self.features.v1
        if not v1:
            result_type = prev1.call_types(node.name, arg_types, result_type, coercions, problems)
        join_sources: tuple[tuple[str, str], ...] = ()
        if node.name == "Summarize":
            result_type, grouping = check_summarize(node.args, arg_types)
            problems.extend(grouping)
        elif node.name == "Join":
            result_type, joining, join_sources = check_join(node.args, arg_types)
            problems.extend(joining)
        elif node.name == "Patch":
            result_type, patching = check_patch(arg_types)
            problems.extend(patching)
        elif node.name in SHAPING:
            shaped, shaping = check_shaping(node.name, node.args, arg_types, self.features)
            problems.extend(shaping)
            result_type = shaped or result_type
        if v1:
            problems.extend(check_literal_args(node.name, node.args, arg_types))
            regex_type, regex_problems = check_regex_call(node.name, node.args)
        else:
            problems.extend(prev1.literal_arg_problems(node.name, node.args))
            regex_type, regex_problems = prev1.regex_call(node.name, node.args, arg_types)
            if regex_type is not None and node.name != "IsMatch" and len(args) > 2 and constant_text(node.args[2]) is None:
                args[2] = prev1.fixed_regex_options(args[2], node.args[2].span)
        problems.extend(regex_problems)
        if regex_type is not None:
            result_type = regex_type
        if spec.constant_args:
            problems.extend(
                (i, f"The argument {i + 1} of '{node.name}' must be a constant value.")
                for i in sorted(spec.constant_args)
                if i < len(node.args) and constant_text(node.args[i]) is None
            )
        for index, message in problems:
            where = node.args[index].span if 0 <= index < len(node.args) else node.span
            self.error(PFX_TYPE, message, where)
        for index, kind in coercions.items():
            if kind == "Option" and result_type.enum is not None:
                args[index] = _to_option(args[index], result_type.enum)
            else:
                args[index] = _coercing(args[index], kind)
        if result_type.kind == "Record" and sig.results is not None:
            # Record results of If/IfError/Switch take the merged record type (fields coerced).
            args = [
                _coerced_to(fn, result_type) if i in sig.results(len(args)) and arg_types[i].kind == "Record"
                and arg_types[i] != result_type else fn
                for i, fn in enumerate(args)
            ]
        if node.name == "Table" and result_type.kind == "Table":
            row_type = T.row_type(result_type)  # every record takes the table's column types
            args = [
                _coerced_to(fn, row_type) if t.kind == "Record" and t != row_type else fn
                for fn, t in zip(args, arg_types, strict=True)
            ]
        if type_index is not None and type_index < len(node.args):
            if type_arg is None:  # reported above
                return (lambda frame: ErrorValue(ErrorKind.InvalidArgument, "Not a type.", node.span)), T.ERROR
            if node.name != "IsType":
                result_type = type_arg.fx_type()
        site = CallSite(
            node.name,
            node.span,
            aliases,
            tuple(a.span for a in node.args),
            tuple(arg_types),
            result_type,
            column_kinds(arg_types) if node.name == "Table" else {},
            self.features,
            type_arg=type_arg,
            join_sources=join_sources,
        )
        for index, arg in enumerate(node.args):
            if sig.param(index) == "Predicate" and isinstance(arg, ast.TextLit) and arg.value.lower() not in ("true", "false"):
                self.error(PFX_TYPE, "Invalid argument type (Text). Expecting a Boolean value instead.", arg.span)
        if not self.features.v1 and node.name in prev1.BLANK_AS_TABLE and count == 2 and arg_types[0].kind == "Blank":
            # Before V1 an untyped Blank() there is an empty table: the result is Blank.
            return (lambda frame: None), T.NUMBER if node.name != "Distinct" else T.UNKNOWN
        built = spec.build(site, args)
        if node.name == "Concatenate" and result_type.kind == "Option" and result_type.enum is not None:
            built = _to_option(built, result_type.enum)
        if result_type.kind == "Void" and not any(p[0] == -1 for p in problems):
            built = _void(built)
        elif not self.features.v1 and result_type.is_aggregate and sig.results is not None:
            # Results of different record types keep only their common fields before V1.
            built = prev1.project(built, frozenset(result_type.field_names))
        elif result_type.kind == "Record" and sig.results is not None and any(
            arg_types[i].kind == "Record" and arg_types[i] != result_type for i in sig.results(len(arg_types))
        ):
            # V1: records of different types merge; each field takes the merged type's kind
            # (Switch(1, 0, {b: true}, 1, {b: "false"}).b is the Boolean false).
            built = _coerced_to(built, result_type)
        return built, result_type

    def _row_scope(self, name: str, first: FxType, alias: str | None) -> _StaticRow:
        if name == "With":
            row = first if first.kind == "Record" else T.UNKNOWN
        elif first.kind == "Table":
            row = T.row_type(first)
        elif first.kind == "Record" and name in SHAPING:  # AddColumns on a record
            row = first
        elif first.kind == "Dynamic":
            row = T.DYNAMIC
        elif first.kind == "Blank":
            row = T.record({})
        else:
            row = T.UNKNOWN
        return _StaticRow(alias, row)


# Arguments that name a column (`ShowColumns(t, name)`, `SortByColumns(t, 'a', ...)`): a bare
# or quoted identifier there is the column's name, not a value read from the scope.  Text
# literals ("name", the older form) are accepted as they always were.
_COLUMN_ARGS: dict[str, Callable[[int], bool]] = {
    "ShowColumns": lambda i: i >= 1,
    "DropColumns": lambda i: i >= 1,
    "RenameColumns": lambda i: i >= 1,
    "Search": lambda i: i >= 2,
    "SortByColumns": lambda i: i % 2 == 1,
    "AddColumns": lambda i: i % 2 == 1,
    "Summarize": lambda i: i >= 1,
}


def _sort_by_value(function: str, arg: ast.Name, arg_types: list[FxType]) -> bool:
    """SortByColumns(t, col) where `col` is no column of a table of known columns: a value
    (a variable holding the column's name), as Power Fx reads it."""
    if function != "SortByColumns" or not arg_types or arg_types[0].kind != "Table" or not arg_types[0].fields:
        return False
    return arg_types[0].field(arg.name) is None




def is_column_identifier(function: str, index: int) -> bool:
    test = _COLUMN_ARGS.get(function)
    return test is not None and test(index)


def _constant(value: Value) -> Fn:
    return lambda frame: value


def _opaque(scope: _StaticRow) -> bool:
    """A row scope whose fields are not known before evaluation (any name may be one of them)."""
    return scope.alias is None and (scope.row.kind != "Record" or not scope.row.fields)


def _to_option(fn: Fn, option_set: OptionSet) -> Fn:
    """A computed text (or backing value) as a value of `option_set` (CalculatedOptionSetValue)."""

    def as_option(frame: Frame) -> Value:
        value = fn(frame)
        if value is None or type(value) is ErrorValue or isinstance(value, OptionValue):
            return value
        return option_set.calculated(value)

    return as_option


_DATED = frozenset({dt.date, dt.datetime, dt.timedelta})
_ZERO_OF_KIND: dict[str, Value] = {
    "Date": dt.date(1899, 12, 30),
    "DateTime": dt.datetime(1899, 12, 30),
    "Time": dt.timedelta(0),
}


def _blank_as_zero(fn: Fn, fx_type: FxType) -> Fn:
    zero = _ZERO_OF_KIND.get(fx_type.kind)
    if zero is None:
        return fn

    def zero_if_blank(frame: Frame) -> Value:
        value = fn(frame)
        return zero if value is None else value

    return zero_if_blank


def _coerced_to(fn: Fn, fx_type: FxType) -> Fn:
    def coerced(frame: Frame) -> Value:
        return coerce_to_type(fx_type, fn(frame))

    return coerced


def _coercing(fn: Fn, kind: str) -> Fn:
    def coerced(frame: Frame) -> Value:
        return coerce_to_kind(kind, fn(frame))

    return coerced


def _binary_closure(op: str, left: Fn, right: Fn, span: SourceSpan, node: ast.Binary, decimal: bool = False) -> Fn:
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
        if isinstance(node.right, ast.TextLit):
            const = node.right.value

            def eq_text(frame: Frame) -> Value:
                a = left(frame)
                if type(a) is str:
                    return a == const
                return _with_span(equals(a, const), span)

            return eq_text

        def eq(frame: Frame) -> Value:
            return _with_span(equals(left(frame), right(frame), decimal), span)

        return eq
    if op == "<>":

        def ne(frame: Frame) -> Value:
            result = equals(left(frame), right(frame), decimal)
            if type(result) is bool:
                return not result
            return _with_span(result, span)

        return ne
    if op in ("<", "<=", ">", ">="):

        def cmp(frame: Frame) -> Value:
            return _with_span(compare(op, left(frame), right(frame), decimal), span)

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
    func: ops.Arith = {"+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide, "^": ops.power}[op]
    if decimal:
        func = ops.decimal_mode({"+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide, "^": ops.power}[op])

    if op in ("+", "-"):
        dated: Callable[..., Value] = ops.add if op == "+" else ops.subtract

        def arith_dates(frame: Frame) -> Value:
            a, b = left(frame), right(frame)
            if type(a) in _DATED or type(b) in _DATED:  # date-times move in the evaluation's zone
                value = dated(a, b, decimal, frame.ctx.timezone)
            else:
                value = func(a, b)
            if type(value) is ErrorValue and value.span is None:
                value.span = span
            return value

        return arith_dates

    def arith(frame: Frame) -> Value:
        value = func(left(frame), right(frame))
        if type(value) is ErrorValue and value.span is None:
            value.span = span
        return value

    return arith


def _void(fn: Fn) -> Fn:
    """A call whose value cannot be used (Void): Blank, but errors still pass through."""

    def void(frame: Frame) -> Value:
        value = fn(frame)
        return value if type(value) is ErrorValue else None

    return void


def _with_span(value: Value, span: SourceSpan) -> Value:
    if type(value) is ErrorValue and value.span is None:
        value.span = span
    return value
