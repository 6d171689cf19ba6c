"""The test hosts' own functions and variables, for the conformance runner.

Microsoft's harness (PowerFxEvaluationTests.cs, InterpreterRunner) gives some setups functions
that are not Power Fx's: `Async`/`WaitFor` (AsyncTestSetup), `Trace` writing into `traceRecord`
(TraceSetup), `Blob`/`BlobGetString`/`BlobGetBase64String` (Blob), `Set` on the variables those
hosts declare; and without the RegEx handler its host has no IsMatch/Match/MatchAll.  They are
built here as host functions (`parse_formula(..., functions=...)`), never added to the engine's
own table: Copilot Studio has none of them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from postcall.powerfx import types as T
from postcall.powerfx.coerce import to_number, to_text
from postcall.powerfx.convert import format_value
from postcall.powerfx.functions import FUNCTIONS, CallSite, Fn, FunctionSpec
from postcall.powerfx.functions.registry import Builder
from postcall.powerfx.runtime import Frame
from postcall.powerfx.signatures import Signature
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Record, Value

# Functions Microsoft's harness has only with the RegEx setup.
REGEX_FUNCTIONS = ("IsMatch", "Match", "MatchAll")

# TraceSetup (PowerFxEvaluationTests.cs): the harness's tracer writes each Trace() into the
# variable traceRecord; `Trace` itself is given by this test host (Copilot Studio has none).
TRACE_RECORD = "traceRecord"
EMPTY_TRACE = Record({"message": None, "severity": 0.0, "customRecord": ""})


def _expression(value: Value) -> str:
    """Microsoft's ToExpression for the custom record: numbers say whether they are Float or
    Decimal (`{f1:Float(1),f2:"test"}`)."""
    if isinstance(value, Record):
        fields = ",".join(
            f"{name if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', name) else repr(name)}:{_expression(v)}"
            for name, v in value.items()
        )
        return "{" + fields + "}"
    if isinstance(value, float):
        return f"Float({format_value(value)})"
    if isinstance(value, Decimal):
        return f"Decimal({format_value(value)})"
    return format_value(value)


def _build_set(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Set(variable, value) of the hosts that enable it: the variable (declared by the host)
    takes the value for the rest of the evaluation (`Set(x, 1); x + 1`)."""
    name_fn, value_fn = args

    def set_variable(frame: Frame) -> Value:
        name, value = name_fn(frame), value_fn(frame)
        if isinstance(value, ErrorValue):
            return value
        if isinstance(frame.scope, dict) and isinstance(name, str) and name in frame.scope:
            frame.scope[name] = value
            return None if site.features.v1 else True
        return site.invalid(f"{name!r} is not a variable of this host.")

    return set_variable


_SET = FunctionSpec("Set", 2, 2, _build_set, signature=Signature(("Text", "Any"), None, T.VOID), name_args=frozenset({0}))


def all_evaluated(body: Callable[[Frame, CallSite, list[Value]], Value]) -> Builder:
    """A test host's function whose arguments are all evaluated first, their errors merged into
    the result (as the harness's host functions behave); `body` sees only error-free values."""

    def build(site: CallSite, args: Sequence[Fn]) -> Fn:
        def run(frame: Frame) -> Value:
            values = [a(frame) for a in args]
            errors = [v for v in values if isinstance(v, ErrorValue)]
            if errors:
                return ErrorValue.merge(errors)
            return body(frame, site, values)

        return run

    return build


def _blob_specs() -> dict[str, FunctionSpec]:
    """The Blob handler's test functions (AddBlobTestFunctions): `Blob(text, [is base64])` makes
    a file value, `BlobGetString`/`BlobGetBase64String` read it back.  The engine has no file
    type, so a test blob is a record holding its bytes (base64) and an identity: two blobs made
    apart are different values, as Microsoft's are, and a blob equals itself."""
    made = iter(range(1, 1 << 62))

    def blob(frame: Frame, site: CallSite, values: list[Value]) -> Value:
        if values[0] is None:
            return None
        text = to_text(values[0])
        if isinstance(text, ErrorValue):
            return text
        is_base64 = len(values) > 1 and values[1] is True
        try:
            content = base64.b64decode(text, validate=True) if is_base64 else text.encode("utf-8")
        except ValueError:
            return site.invalid("the text is not base64.")
        fields: dict[str, Value] = {"$blob": base64.b64encode(content).decode("ascii"), "$id": float(next(made))}
        return Record(fields)

    def reader(as_base64: bool) -> Builder:
        def build(site: CallSite, args: Sequence[Fn]) -> Fn:
            def run(frame: Frame) -> Value:
                value = args[0](frame)
                if value is None or isinstance(value, ErrorValue):
                    return value
                encoded = value.get_field("$blob") if isinstance(value, Record) else None
                if not isinstance(encoded, str):
                    return site.invalid("the argument is not a blob.")
                if encoded == "":
                    return None
                return encoded if as_base64 else base64.b64decode(encoded).decode("utf-8", errors="replace")

            return run

        return build

    blob_type = T.record({"$blob": T.TEXT, "$id": T.NUMBER})
    return {
        "Blob": FunctionSpec("Blob", 1, 2, all_evaluated(blob), signature=Signature(("Text", "Boolean"), None, blob_type)),
        "BlobGetString": FunctionSpec("BlobGetString", 1, 1, reader(False), signature=Signature(("Record",), None, T.TEXT)),
        "BlobGetBase64String": FunctionSpec(
            "BlobGetBase64String", 1, 1, reader(True), signature=Signature(("Record",), None, T.TEXT)
        ),
    }


def _trace_spec(strongly_typed_enums: bool) -> FunctionSpec:
    """Trace(message, [severity], [custom record], [options]) into the context's traceRecord."""
    severity_param = "Enum:TraceSeverity" if strongly_typed_enums else "Number"
    options_param = "Enum:TraceOptions" if strongly_typed_enums else "Text"

    def trace(frame: Frame, site: CallSite, values: list[Value]) -> Value:
        message = "" if values[0] is None else to_text(values[0])
        severity: Value = 3.0  # TraceSeverity.Information
        if len(values) > 1:
            given = values[1]
            if isinstance(given, OptionValue):
                given = given.value  # type: ignore[assignment]
            if given is None:
                return site.invalid("the severity is blank.")
            severity = to_number(given)
        custom = values[2] if len(values) > 2 else None
        if isinstance(message, ErrorValue) or isinstance(severity, ErrorValue):
            return message if isinstance(message, ErrorValue) else severity
        scope = frame.ctx.scope
        if isinstance(scope, dict):
            scope[TRACE_RECORD] = Record({
                "message": message, "severity": severity,
                "customRecord": "{}" if custom is None else _expression(custom),
            })
        return None if site.features.v1 else True  # Void with the V1 rules, else Boolean

    signature = Signature(("Text", severity_param, "Record", options_param), None, T.VOID)
    # Trace.cs CheckSemantics: the options must be constant text or a TraceOptions member.
    return FunctionSpec("Trace", 1, 4, all_evaluated(trace), signature=signature, constant_args=frozenset({3}))


def host_functions(setup: Mapping[str, bool], strongly_typed_enums: bool = True) -> Mapping[str, FunctionSpec] | None:
    """The function table of the test host a setup describes (None: the built-in one).

    Without the RegEx handler Microsoft's host lacks IsMatch/Match/MatchAll; AsyncTestSetup
    adds `Async(n)` (n, once Async(n-1) has completed) and `WaitFor(n)` (n, an error if
    started before WaitFor(n-1) completed).  Evaluation here is sequential, so Async always
    completes; WaitFor still catches an argument evaluated out of order or one that should
    not have been evaluated at all (the branch If does not take, And's second operand).
    """
    regex = setup.get("RegEx", False)
    asynchronous = setup.get("AsyncTestSetup", False)
    trace, blob = setup.get("TraceSetup", False), setup.get("Blob", False)
    if regex and not (asynchronous or trace or blob):
        return None
    table = {k: v for k, v in FUNCTIONS.items() if regex or k not in REGEX_FUNCTIONS}
    if asynchronous:
        completed: set[int] = set()

        def build_async(site: CallSite, args: Sequence[Fn]) -> Fn:
            return lambda frame: args[0](frame)

        def build_wait_for(site: CallSite, args: Sequence[Fn]) -> Fn:
            def wait_for(frame: Frame) -> Value:
                n = args[0](frame)
                if not isinstance(n, (int, float, Decimal)) or isinstance(n, bool):
                    return n
                if n > 0 and int(n) - 1 not in completed:
                    return site.error(ErrorKind.Internal, f"WaitFor({n}) started before WaitFor({n - 1}) completed.")
                completed.add(int(n))
                return n

            return wait_for

        table["Async"] = FunctionSpec("Async", 1, 1, build_async)
        table["WaitFor"] = FunctionSpec("WaitFor", 1, 1, build_wait_for)
    if trace:
        table["Trace"] = _trace_spec(strongly_typed_enums)
    if blob:
        table.update(_blob_specs())
    if blob or asynchronous:
        table["Set"] = _SET  # these hosts call config.EnableSetFunction()
    return table


def host_variables(setup: Mapping[str, bool]) -> dict[str, Value]:
    """The variables the test hosts declare (what their Set may assign, where Trace writes)."""
    variables: dict[str, Value] = {}
    if setup.get("TraceSetup", False):
        variables[TRACE_RECORD] = EMPTY_TRACE
    if setup.get("AsyncTestSetup", False):
        variables["varNumber"] = 9999.0  # RunVerifyAsync's engine.UpdateVariable("varNumber", 9999)
    if setup.get("Blob", False):
        variables.update({"blob": None, "str": None})  # BlobSetup's blank variables
    return variables
