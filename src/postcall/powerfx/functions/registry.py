"""The function table: each Power Fx function is a builder that turns compiled arguments into a closure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from postcall.diagnostics import SourceSpan
from postcall.powerfx.features import POWER_FX_V1, Features
from postcall.powerfx.runtime import Frame
from postcall.powerfx.signatures import Signature
from postcall.powerfx.types import UNKNOWN, FxType
from postcall.powerfx.values import ErrorKind, ErrorValue, Table, Value

Fn = Callable[[Frame], Value]


@dataclass(frozen=True)
class CallSite:
    """Where a function is called: its name, span, and the `As` aliases of its arguments."""

    name: str
    span: SourceSpan
    aliases: tuple[str | None, ...] = ()
    arg_spans: tuple[SourceSpan, ...] = ()
    arg_types: tuple[FxType, ...] = ()
    result_type: FxType = UNKNOWN
    column_kinds: dict[str, str] = field(default_factory=dict)
    features: Features = POWER_FX_V1  # the language rules the formula is compiled with
    type_arg: object = None  # a type argument read at compile time (postcall.powerfx.typeargs.TypeSpec)
    # Join's output columns: ("left" or "right", the column read) for each `X.col As name`.
    join_sources: tuple[tuple[str, str], ...] = ()

    def arg_kind(self, index: int) -> str:
        """The static type kind of argument `index` ("Unknown" when not known)."""
        return self.arg_types[index].kind if index < len(self.arg_types) else "Unknown"

    def error(self, kind: ErrorKind, message: str) -> ErrorValue:
        return ErrorValue(kind, message, self.span)

    def invalid(self, message: str) -> ErrorValue:
        return ErrorValue(ErrorKind.InvalidArgument, f"{self.name}: {message}", self.span)


Builder = Callable[[CallSite, Sequence[Fn]], Fn]
EagerImpl = Callable[[Frame, CallSite, list[Value]], Value]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None
    build: Builder
    summary: str = ""
    # A host function's parameter and result types (signatures.py); built-ins have theirs there.
    signature: Signature | None = None
    # Arguments that name something rather than read it (a host's `Set(variable, value)`): a
    # bare name there reaches the builder as its text.
    name_args: frozenset[int] = frozenset()
    # Arguments that must be constant text (a literal, `&` of literals, a text option member).
    constant_args: frozenset[int] = frozenset()


FUNCTIONS: dict[str, FunctionSpec] = {}
_SLOW = frozenset((ErrorValue, Table))  # argument types that leave the scalar fast path


def lazy(name: str, min_args: int, max_args: int | None) -> Callable[[Builder], Builder]:
    """Register a function that decides itself when to evaluate its arguments."""

    def register(build: Builder) -> Builder:
        FUNCTIONS[name] = FunctionSpec(name, min_args, max_args, build, (build.__doc__ or "").strip())
        return build

    return register


def eager(
    name: str, min_args: int, max_args: int | None, *, propagate: bool = True
) -> Callable[[EagerImpl], EagerImpl]:
    """Register a function whose arguments are all evaluated first; an error argument is the result."""

    def register(impl: EagerImpl) -> EagerImpl:
        def build(site: CallSite, args: Sequence[Fn]) -> Fn:
            arg_list = list(args)
            if not propagate:

                def run_all(frame: Frame) -> Value:
                    return impl(frame, site, [a(frame) for a in arg_list])

                return run_all
            # A function lifted with `tabular` keeps its scalar core: when no argument is a table
            # or an error (nearly always) the core runs directly, one Python call fewer per call.
            # Not when an argument is statically a table: a Blank there must still give Blank.
            scalar: EagerImpl = getattr(impl, "scalar", impl)
            if any(site.arg_kind(i) == "Table" for i in range(len(arg_list))):
                scalar = impl
            if len(arg_list) == 1:
                only = arg_list[0]

                def run_one(frame: Frame) -> Value:
                    value = only(frame)
                    kind = type(value)
                    if kind is ErrorValue:
                        return value
                    if kind is Table:
                        return impl(frame, site, [value])
                    return scalar(frame, site, [value])

                return run_one

            broadcast = bool(getattr(impl, "tabular", False))

            def run(frame: Frame) -> Value:
                values = [a(frame) for a in arg_list]
                for value in values:
                    if type(value) in _SLOW:
                        break
                else:
                    return scalar(frame, site, values)
                for value in values:
                    if type(value) is ErrorValue:
                        if broadcast:
                            for i, v in enumerate(values):
                                if type(v) is ErrorValue and site.arg_kind(i) == "Table":
                                    return v  # an error where a table goes is the result
                        if broadcast and any(type(v) is Table for v in values):
                            # A table argument: a scalar's error goes into each row instead.
                            return impl(frame, site, values)
                        # Every argument's error, in order, as Power Fx aggregates them.
                        return ErrorValue.merge([v for v in values if type(v) is ErrorValue])
                return impl(frame, site, values)

            return run

        FUNCTIONS[name] = FunctionSpec(name, min_args, max_args, build, (impl.__doc__ or "").strip())
        return impl

    return register


def alias(new_name: str, existing: str) -> None:
    spec = FUNCTIONS[existing]
    FUNCTIONS[new_name] = FunctionSpec(new_name, spec.min_args, spec.max_args, spec.build, spec.summary)
