"""Formulas: parse once (syntax, names, functions, compiled closures), evaluate many times."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from postcall.diagnostics import Diagnostic, Severity, SourceSpan, TextOrigin
from postcall.errors import PowerFxError
from postcall.powerfx import ast
from postcall.powerfx.codes import PFX_TOO_DEEP
from postcall.powerfx.compiler import Compiler
from postcall.powerfx.enums import OptionSet
from postcall.powerfx.features import POWER_FX_V1, Features
from postcall.powerfx.functions import Fn, FunctionSpec
from postcall.powerfx.parser import parse_syntax
from postcall.powerfx.runtime import BudgetExceeded, EvalContext, Frame, Limits
from postcall.powerfx.textfirst import text_first_source
from postcall.powerfx.values import ErrorKind, ErrorValue, Value

MAX_FORMULA_LENGTH = 100_000
MAX_SYNTAX_DEPTH = Limits().max_depth

DEFAULT_ORIGIN = TextOrigin("<formula>", 1, 1)


def is_formula(value: str) -> bool:
    """A YAML field value that is a Power Fx formula (starts with "=")."""
    return isinstance(value, str) and value.startswith("=")


def collect_names(tree: ast.Node) -> frozenset[str]:
    """Dotted references as written: the longest chain of plain names (`Topic.caseId`)."""
    names: set[str] = set()
    stack: list[tuple[ast.Node, bool]] = [(tree, False)]
    while stack:
        node, inside_chain = stack.pop()
        if isinstance(node, (ast.Member, ast.Name)) and not inside_chain:
            dotted = ast.dotted_name(node)
            if dotted is not None:
                names.add(dotted)
                continue
        for child in node.children():
            chained = isinstance(node, ast.Member) and ast.dotted_name(node) is not None
            stack.append((child, chained))
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class NameRef:
    """A free name a formula reads (one the context's scope must provide), as written.

    `path` is the longest chain of plain names (`Topic.caseId`, `Sytem.FallbackCount`, a
    bare `Value` outside any row scope); `root` is its first name as written (a quoted name
    may hold dots: `'bot.topic.Menu.question_1'`); `span` covers the chain, `root_span` the
    first name.
    Names of row scopes (ForAll/Filter/With fields, `ThisRecord`, `As` aliases), of IfError's
    `FirstError`/`AllErrors` and of built-in option sets are not free.
    """

    path: str
    span: SourceSpan
    root_span: SourceSpan
    root: str

    @property
    def rest(self) -> str:
        """The path after the root ("" for a bare name)."""
        return self.path[len(self.root) + 1 :]


def collect_free_names(tree: ast.Node, free: list[ast.Name]) -> tuple[NameRef, ...]:
    """The chains whose root is one of the compiler's `free` Name nodes, in source order."""
    roots = {id(n) for n in free}
    out: list[NameRef] = []
    stack: list[ast.Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Member, ast.Name)):
            dotted = ast.dotted_name(node)
            if dotted is not None:
                root: ast.Node = node
                while isinstance(root, ast.Member) and root.obj is not None:
                    root = root.obj
                if isinstance(root, ast.Name) and id(root) in roots:
                    out.append(NameRef(dotted, node.span, root.span, root.name))
                continue
        stack.extend(node.children())
    return tuple(sorted(out, key=lambda r: (r.span.line, r.span.column)))


def tree_depth(node: ast.Node) -> int:
    deepest = 0
    stack: list[tuple[ast.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in current.children())
    return deepest


class Formula:
    """A parsed and compiled formula.  `evaluate` never raises anything but PowerFxError."""

    __slots__ = (
        "source", "ast", "names", "functions", "depth", "_fn", "origin", "type", "free_names", "decimal"
    )

    def __init__(
        self,
        source: str,
        tree: ast.Node,
        names: frozenset[str],
        functions: frozenset[str],
        fn: Fn,
        depth: int,
        origin: TextOrigin,
        free_names: tuple[NameRef, ...] = (),
    ) -> None:
        self.source = source
        self.free_names = free_names
        self.ast = tree
        self.names = names
        self.functions = functions
        self._fn = fn
        self.depth = depth
        self.origin = origin
        self.type = "Unknown"
        self.decimal = False  # numbers are Decimals (NumberIsFloat off)

    def __repr__(self) -> str:
        return f"Formula({self.source!r})"

    def evaluate(self, ctx: EvalContext) -> Value:
        """The formula's value; runtime problems come back as ErrorValue."""
        if self.depth > ctx.limits.max_depth:
            return ErrorValue(
                ErrorKind.InvalidArgument,
                f"The formula is nested {self.depth} deep (limit {ctx.limits.max_depth}).",
                self.ast.span,
            )
        frame = Frame(ctx)
        frame.decimal = self.decimal
        try:
            return self._fn(frame)
        except PowerFxError:
            raise
        except BudgetExceeded as exc:
            return ErrorValue(ErrorKind.QuotaExceeded, str(exc), self.ast.span)
        except RecursionError:
            return ErrorValue(ErrorKind.InsufficientMemory, "The formula nests too deeply to evaluate.", self.ast.span)
        except MemoryError:
            return ErrorValue(ErrorKind.InsufficientMemory, "The formula needs too much memory.", self.ast.span)
        except ZeroDivisionError:
            return ErrorValue(ErrorKind.Div0, "Division by zero.", self.ast.span)
        except (OverflowError, ArithmeticError):
            return ErrorValue(ErrorKind.Numeric, "A number is out of range.", self.ast.span)
        except Exception as exc:
            return ErrorValue(
                ErrorKind.Internal, f"Internal error evaluating the formula ({type(exc).__name__}: {exc}).", self.ast.span
            )


@dataclass(frozen=True)
class ParseResult:
    """`names` and `free_names` are filled whenever the text parsed, even when the formula did
    not compile (an unknown function, a type error): checks of variable reads still work."""

    formula: Formula | None
    diagnostics: list[Diagnostic]
    names: frozenset[str] = field(default=frozenset())
    free_names: tuple[NameRef, ...] = ()

    @property
    def ok(self) -> bool:
        return self.formula is not None and not any(d.is_error for d in self.diagnostics)


def parse_formula(
    text: str,
    origin: TextOrigin | None = None,
    *,
    known_names: Collection[str] | None = None,
    number_is_float: bool = True,
    features: Features = POWER_FX_V1,
    functions: Mapping[str, FunctionSpec] | None = None,
    option_sets: Mapping[str, OptionSet] | None = None,
) -> ParseResult:
    """Parse and compile a formula (the text after the leading "=").

    Syntax errors are PFX1xx diagnostics; unknown functions, wrong argument counts and type
    errors PFX3xx; spans point into the file `origin` describes.  `formula` is None when there
    are errors.  With `known_names` (e.g. {"Topic", "Global", "System", "Env"}), a top-level
    name outside it (and outside row scopes and option sets) is error PFX304; without it any
    name is accepted and resolved at evaluation.  `number_is_float=False` is Power Fx's
    Decimal mode (see postcall.powerfx.numbers): literals and numbers from text are Decimals.
    `features` (postcall.powerfx.features) are the language rules, Power Fx V1 unless a
    conformance run asks for an older host's; `functions` replaces the function table (a
    host with more or fewer functions; the built-in `FUNCTIONS` when None).
    `option_sets` are the host's option sets (enums.OptionSet) besides the built-in ones.
    """
    where = origin if origin is not None else DEFAULT_ORIGIN
    if not isinstance(text, str):
        raise PowerFxError(f"A formula must be text, not {type(text).__name__}.")
    if len(text) > MAX_FORMULA_LENGTH:
        return ParseResult(
            None,
            [Diagnostic(PFX_TOO_DEEP, Severity.ERROR, f"The formula is {len(text)} characters long (limit {MAX_FORMULA_LENGTH}).", where.span(text, 0))],
        )
    if features.text_first:
        text = text_first_source(text)
    try:
        tree, diagnostics = parse_syntax(
            text, where, chaining=features.expression_chaining, reserved_words=features.reserved_keywords
        )
    except RecursionError:
        return ParseResult(None, [Diagnostic(PFX_TOO_DEEP, Severity.ERROR, "The formula nests too deeply to parse.", where.span(text, 0))])
    if tree is None:
        return ParseResult(None, diagnostics)
    depth = tree_depth(tree)
    if depth > MAX_SYNTAX_DEPTH:
        diagnostics.append(
            Diagnostic(PFX_TOO_DEEP, Severity.ERROR, f"The formula nests {depth} deep (limit {MAX_SYNTAX_DEPTH}).", tree.span)
        )
        return ParseResult(None, diagnostics)
    compiler = Compiler(
        diagnostics, known_names, number_is_float=number_is_float, features=features, functions=functions,
        option_sets=option_sets,
    )
    try:
        fn = compiler.compile(tree)
    except RecursionError:
        diagnostics.append(Diagnostic(PFX_TOO_DEEP, Severity.ERROR, "The formula nests too deeply to compile.", tree.span))
        return ParseResult(None, diagnostics)
    names = collect_names(tree)
    free_names = collect_free_names(tree, compiler.free)
    if any(d.is_error for d in diagnostics):
        return ParseResult(None, diagnostics, names, free_names)
    formula = Formula(
        text, tree, names, frozenset(compiler.functions), fn, depth, where, free_names
    )
    formula.type = str(compiler.type_of(tree).kind)
    formula.decimal = not number_is_float
    return ParseResult(formula, diagnostics, names, free_names)
