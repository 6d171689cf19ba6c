"""Reading typed fields out of position-aware YAML mappings, reporting every problem once.

`FileContext` carries a file's path and its diagnostics; `Fields` wraps one mapping of a known
schema definition: it warns about unknown keys (with "did you mean"), reports missing required
fields, and converts each field to what the model wants (text, bool, int, `Expr`, `VariableRef`,
`TextTemplate`).  Conversions never raise: a bad value is a diagnostic and the field's default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from postcall.diagnostics import (
    Diagnostic,
    Severity,
    SourceSpan,
    TextOrigin,
    default_severity,
    did_you_mean,
)
from postcall.topics import codes
from postcall.topics.fn_names import POWER_FX_FUNCTIONS
from postcall.topics.fx import NameRef, parse_formula, parse_template
from postcall.topics.model import (
    VARIABLE_SCOPES,
    Expr,
    LiteralValue,
    TextTemplate,
    VariableRef,
    VariableScope,
)
from postcall.topics.schema_data import ENUMS, FIELDS, REQUIRED
from postcall.topics.source import YMap, YNode, YScalar, YSeq

ValueType = Literal["bool", "int", "number", "string", "value"]

_INT = re.compile(r"[-+]?\d+\Z")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?\Z")
_VAR_NAME = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_'][\w' ]*)*\Z")


def kind_name(node: YNode) -> str:
    """A short description of a node's YAML type, for messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    return "empty" if node.is_null else f"'{node.value}'"


def start_span(span: SourceSpan) -> SourceSpan:
    """A span for carets: the whole span when it fits on one line (flow-style `{...}`, `[...]`),
    else just its start (carets to the end of the first line, not under a whole block)."""
    if span.end_line == span.line:
        return span
    return SourceSpan(span.path, span.line, span.column)


@dataclass
class FileContext:
    """Building state of one file: its display path, its diagnostics and id counter."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    formula_count: int = 0  # `=` values and `{}` holes of message text
    formula_unparsed: int = 0  # of those, the ones with a Power Fx syntax error

    def add(
        self,
        code: str,
        message: str,
        span: SourceSpan | None,
        *,
        hint: str | None = None,
        severity: Severity | None = None,
        mask: SourceSpan | None = None,
    ) -> None:
        sev = severity if severity is not None else default_severity(code)
        self.diagnostics.append(Diagnostic(code, sev, message, span, hint, mask))

    def wrong_type(self, node: YNode, expected: str) -> None:
        """A WRONG_TYPE diagnostic at `node`: "<expected>, not <what the node is>." """
        self.add(codes.WRONG_TYPE, f"{expected}, not {kind_name(node)}.", start_span(node.span))

    # -- values (independent of a mapping) --

    def expr(self, node: YNode, vtype: ValueType, what: str) -> Expr | None:
        """An `Expr` from a node: a formula when the text starts with `=`, else a literal of
        `vtype`.  None (and a diagnostic) when the value has the wrong type."""
        if isinstance(node, YScalar):
            if node.value.startswith("=") and not (node.is_null):
                return self.formula(node)
            literal = self.literal(node, vtype, what)
            if literal is _BAD:
                return None
            return Expr(node.value, node.span, None, cast(LiteralValue, literal))
        if vtype == "value":
            return Expr("", node.span, None, self.structured(node))
        self.wrong_type(node, f"{what} must be {_TYPE_WORDS[vtype]} or a formula (=...)")
        return None

    def formula(self, node: YScalar) -> Expr:
        self.formula_count += 1
        origin = node.origin_after(1)
        source = node.value[1:]
        result = parse_formula(source, origin)
        free_names = result.free_names
        if any(d.is_error and d.code in _PFX_SYNTAX for d in result.diagnostics):
            self.formula_unparsed += 1
            if not result.names:
                free_names = scan_variable_reads(source, origin)
        self.diagnostics.extend(adapt_powerfx(result.diagnostics))
        return Expr(node.value, node.span, result.formula, None, origin, free_names)

    def literal(self, node: YScalar, vtype: ValueType, what: str) -> object:
        text = node.value
        if vtype == "string":
            return "" if node.is_null else text
        if vtype == "value":
            return scalar_value(node)
        if node.is_null:
            return None
        if vtype == "bool":
            low = text.lower()
            if low in ("true", "false"):
                return low == "true"
        elif vtype == "int":
            if _INT.match(text):
                return int(text)
        elif _NUMBER.match(text):
            number = float(text)
            return (
                int(number)
                if number.is_integer() and "." not in text and "e" not in text.lower()
                else number
            )
        self.add(
            codes.WRONG_TYPE,
            f"{what} must be {_TYPE_WORDS[vtype]} or a formula (=...), not '{text}'.",
            node.span,
        )
        return _BAD

    def structured(self, node: YNode) -> LiteralValue:
        if isinstance(node, YScalar):
            return scalar_value(node)
        if isinstance(node, YSeq):
            return tuple(self.structured(i) for i in node.items)
        return {k.value: self.structured(v) for k, v in node.entries}

    def template(self, node: YNode, what: str) -> TextTemplate | None:
        if not isinstance(node, YScalar):
            self.wrong_type(node, f"{what} must be text")
            return None
        text = "" if node.is_null else node.value
        result = parse_template(text, node.origin)
        bad_holes = sum(1 for d in result.diagnostics if d.code == _PFX_BAD_HOLE)
        self.formula_count += bad_holes + (
            len(result.template.formulas) if result.template is not None else 0
        )
        self.formula_unparsed += bad_holes
        self.diagnostics.extend(adapt_powerfx(result.diagnostics))
        return TextTemplate(text, node.span, result.template, node.origin, result.free_names)

    def variable(
        self, node: YNode, what: str, *, allow_init: bool = True, write: bool = True
    ) -> VariableRef | None:
        """A variable path such as `Topic.x` or `init:Global.y`."""
        if not isinstance(node, YScalar) or node.is_null:
            self.add(
                codes.BAD_VARIABLE,
                f"{what} must be a variable name such as Topic.result, not {kind_name(node)}.",
                start_span(node.span),
            )
            return None
        text = node.value.strip()
        init = False
        if text.startswith("init:"):
            init = True
            text = text[5:].strip()
            if not allow_init:
                self.add(
                    codes.BAD_VARIABLE,
                    f"{what} does not take the init: prefix.",
                    node.span,
                    severity=Severity.WARNING,
                )
        if text.startswith("="):
            text = text[1:].strip()
        scope, _, name = text.partition(".")
        if scope not in VARIABLE_SCOPES:
            guess = did_you_mean(scope, VARIABLE_SCOPES) if name else None
            if guess is None and not name:
                hint = f"write Topic.{text}" if _VAR_NAME.match(text) else None
            else:
                hint = f"did you mean '{guess}.{name}'?" if guess else None
            self.add(
                codes.BAD_VARIABLE,
                f"{what} '{node.value}' is not a variable: expected Topic.<name>, Global.<name> or System.<name>.",
                node.span,
                hint=hint,
            )
            return None
        if not name or not _VAR_NAME.match(name):
            self.add(
                codes.BAD_VARIABLE,
                f"{what} '{node.value}' has no valid variable name after '{scope}.'.",
                node.span,
            )
            return None
        if write and scope == "Env":
            self.add(
                codes.READ_ONLY_VARIABLE,
                f"{what} writes {text}; Env values are read-only.",
                node.span,
            )
        return VariableRef(cast(VariableScope, scope), name, init, node.span)

    def enum(
        self, node: YNode, enum_name: str, what: str, *, allowed: Iterable[str] | None = None
    ) -> str | None:
        """An enum value, canonical spelling; a case-only difference is accepted with a warning."""
        values = tuple(allowed) if allowed is not None else ENUMS.get(enum_name, ())
        if not isinstance(node, YScalar) or node.is_null:
            self.wrong_type(node, f"{what} must be one of {_list(values)}")
            return None
        text = node.value.strip()
        if text in values:
            return text
        for v in values:
            if v.lower() == text.lower():
                self.add(
                    codes.ALIAS_USED,
                    f"{what} '{text}' is spelt '{v}' in Copilot Studio; read as '{v}'.",
                    node.span,
                )
                return v
        guess = did_you_mean(text, values)
        self.add(
            codes.BAD_ENUM,
            f"{what} '{text}' is not one of {_list(values)}.",
            node.span,
            hint=f"did you mean '{guess}'?" if guess else None,
        )
        return None


_PFX_SYNTAX = frozenset({"PFX100", "PFX101", "PFX102", "PFX103"})
_TEXT_LITERAL = re.compile(r'"(?:[^"]|"")*"?')
_VARIABLE_READ = re.compile(r"(?<![\w.'])(?:Topic|Global)\.[A-Za-z_]\w*")


def scan_variable_reads(source: str, origin: TextOrigin) -> tuple[NameRef, ...]:
    """`Topic.x` and `Global.x` in the text of a formula that does not parse (outside text
    literals), so that variable checks still see them."""
    blanked = _TEXT_LITERAL.sub(lambda m: " " * len(m.group(0)), source)
    out = []
    for m in _VARIABLE_READ.finditer(blanked):
        span = origin.span(source, m.start(), m.end())
        root = origin.span(source, m.start(), m.start() + m.group(0).index("."))
        out.append(NameRef(m.group(0), span, root, m.group(0).split(".", 1)[0]))
    return tuple(out)
_PFX_BAD_HOLE = "PFX110"
_PFX_UNKNOWN_FUNCTION = "PFX301"
_UNKNOWN_FUNCTION_NAME = re.compile(r"Unknown function '([^']+)'")


def adapt_powerfx(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Power Fx diagnostics as the topic loader reports them: a call to a real Power Fx function
    that this runtime does not implement is a warning (TPC231, the topic loads and evaluating
    the formula fails), not an unknown-function error."""
    out = []
    for d in diagnostics:
        m = _UNKNOWN_FUNCTION_NAME.search(d.message) if d.code == _PFX_UNKNOWN_FUNCTION else None
        if m is not None and m.group(1) in POWER_FX_FUNCTIONS:
            d = Diagnostic(
                codes.UNIMPLEMENTED_FUNCTION,
                Severity.WARNING,
                f"Power Fx function {m.group(1)} is not implemented by this runtime; evaluating this formula fails.",
                d.span,
            )
        out.append(d)
    return out


class _Bad:
    pass


_BAD = _Bad()

_TYPE_WORDS: Mapping[str, str] = {
    "bool": "true or false",
    "int": "a whole number",
    "number": "a number",
    "string": "text",
    "value": "a value",
}


def _list(values: Iterable[str]) -> str:
    vals = list(values)
    if len(vals) > 12:
        return ", ".join(vals[:12]) + f" and {len(vals) - 12} more"
    return ", ".join(vals)


def scalar_value(node: YScalar) -> LiteralValue:
    """A ValueExpression literal: quoted scalars are text; plain true/false are booleans, plain
    JSON-like numbers are numbers (a leading `+` or zero keeps it text: phone numbers), null is
    None, anything else is text."""
    if node.quoted:
        return node.value
    if node.is_null:
        return None
    text = node.value
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _PLAIN_NUMBER.match(text) and not (len(text) > 1 and text[0] == "0" and text[1] != "."):
        if "." in text or "e" in text.lower():
            return float(text)
        return int(text)
    return text


class Fields:
    """One mapping read against a schema definition's fields.

    Unknown keys warn at construction ("did you mean" among the definition's fields); missing
    required fields are reported by `require` / the typed getters with `required=True`.
    """

    def __init__(
        self,
        fc: FileContext,
        node: YMap,
        schema_def: str | None,
        label: str,
        *,
        extra: Iterable[str] = (),
        ignore: Iterable[str] = (),
        check_unknown: bool = True,
    ) -> None:
        self.fc = fc
        self.node = node
        self.label = label
        known = set(FIELDS.get(schema_def, ())) if schema_def else set()
        known.update(extra)
        self.known = known
        if check_unknown and schema_def is not None:
            ignored = set(ignore)
            for key, _ in node.entries:
                if key.value in known or key.value in ignored:
                    continue
                guess = did_you_mean(key.value, sorted(known - {"kind"}))
                fc.add(
                    codes.UNKNOWN_FIELD,
                    f"{label} has no field '{key.value}'; it is ignored.",
                    key.span,
                    hint=f"did you mean '{guess}'?" if guess else None,
                )
        if schema_def is not None:
            for req in REQUIRED.get(schema_def, ()):
                if req != "id" and node.get(req) is None:
                    self.missing(req)

    # -- raw access --

    def get(self, key: str) -> YNode | None:
        value = self.node.get(key)
        if isinstance(value, YScalar) and value.is_null:
            return None
        return value

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def missing(self, key: str) -> None:
        self.fc.add(
            codes.MISSING_FIELD,
            f"{self.label} needs the field '{key}'.",
            start_span(self.node.span),
        )

    def what(self, key: str) -> str:
        return f"{self.label} field '{key}'"

    # -- typed getters --

    def text(self, key: str, default: str | None = None) -> str | None:
        node = self.get(key)
        if node is None:
            return default
        if not isinstance(node, YScalar):
            self.fc.wrong_type(node, f"{self.what(key)} must be text")
            return default
        return node.value

    def flag(self, key: str, default: bool) -> bool:
        """A literal boolean field (a formula here is not allowed by the schema)."""
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node, YScalar) and node.value.lower() in ("true", "false"):
            return node.value.lower() == "true"
        self.fc.wrong_type(node, f"{self.what(key)} must be true or false")
        return default

    def integer(self, key: str, default: int) -> int:
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node, YScalar) and _INT.match(node.value.strip()):
            return int(node.value)
        self.fc.wrong_type(node, f"{self.what(key)} must be a whole number")
        return default

    def expr(self, key: str, vtype: ValueType, *, required: bool = False) -> Expr | None:
        node = self.get(key)
        if node is None:
            if required and self.node.get(key) is not None:
                self.missing(key)
            return None
        return self.fc.expr(node, vtype, self.what(key))

    def template(self, key: str) -> TextTemplate | None:
        node = self.node.get(key)
        if node is None:
            return None
        return self.fc.template(node, self.what(key))

    def variable(self, key: str, *, allow_init: bool = True) -> VariableRef | None:
        node = self.get(key)
        if node is None:
            return None
        return self.fc.variable(node, self.what(key), allow_init=allow_init)

    def enum(self, key: str, enum_name: str, default: str | None = None) -> str | None:
        node = self.get(key)
        if node is None:
            return default
        value = self.fc.enum(node, enum_name, self.what(key))
        return value if value is not None else default

    def mapping(self, key: str) -> YMap | None:
        node = self.get(key)
        if node is None:
            return None
        if not isinstance(node, YMap):
            self.fc.wrong_type(node, f"{self.what(key)} must be a mapping")
            return None
        return node

    def sequence(self, key: str) -> YSeq | None:
        node = self.get(key)
        if node is None:
            return None
        if not isinstance(node, YSeq):
            self.fc.wrong_type(node, f"{self.what(key)} must be a list")
            return None
        return node

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of text items (a single text is accepted as a one-item list)."""
        node = self.get(key)
        if node is None:
            return ()
        if isinstance(node, YScalar):
            return (node.value,)
        if isinstance(node, YMap):
            self.fc.add(
                codes.WRONG_TYPE,
                f"{self.what(key)} must be a list of text, not a mapping.",
                start_span(node.span),
            )
            return ()
        out: list[str] = []
        for item in node.items:
            if isinstance(item, YScalar):
                if not item.is_null:
                    out.append(item.value)
            else:
                self.fc.wrong_type(item, f"{self.what(key)} items must be text")
        return tuple(out)
