"""Message templates: literal text with `{expr}` holes (SendActivity text, SetTextVariable, prompts).

Rules (see docs/powerfx.md):
* `{` ... matching `}` is a hole; braces inside text literals and quoted names of the hole do
  not count.  An empty hole `{}` and a `{` that is never closed are literal text.
* A hole whose content is not a valid formula (a syntax error) is kept as literal text and
  reported as warning PFX110; a hole that parses but calls an unknown function is an error.
* Rendering turns each hole's value into text: Blank is "", records and tables become JSON,
  and an error value raises PowerFxError pointing at the hole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from postcall.diagnostics import Diagnostic, Severity, TextOrigin
from postcall.errors import PowerFxError
from postcall.powerfx.codes import PFX_TEMPLATE_HOLE
from postcall.powerfx.convert import to_json, to_text
from postcall.powerfx.formula import DEFAULT_ORIGIN, Formula, NameRef, parse_formula
from postcall.powerfx.runtime import EvalContext
from postcall.powerfx.values import ErrorValue, Record, Table, UntypedObject


def _hole_end(text: str, start: int) -> int | None:
    """Index of the `}` closing the hole opened at `start`, or None."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch == "'":
            j = text.find("'", i + 1)
            if j < 0:
                return None
            i = j + 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def sub_origin(origin: TextOrigin, text: str, offset: int, length: int) -> TextOrigin:
    """The origin of `text[offset:offset+length]` (for formulas embedded in larger text)."""
    return origin.shifted(text, offset, length)


@dataclass(frozen=True)
class TemplateResult:
    """`names` and `free_names` of every hole that parsed, even when a hole did not compile."""

    template: Template | None
    diagnostics: list[Diagnostic]
    names: frozenset[str] = frozenset()
    free_names: tuple[NameRef, ...] = ()


class Template:
    """Parsed message text: literal parts and compiled holes."""

    __slots__ = ("source", "parts", "formulas", "names", "functions", "free_names")

    def __init__(self, source: str, parts: tuple[str | Formula, ...]) -> None:
        self.source = source
        self.parts = parts
        self.formulas: tuple[Formula, ...] = tuple(p for p in parts if isinstance(p, Formula))
        self.names: frozenset[str] = frozenset().union(*(f.names for f in self.formulas))
        self.functions: frozenset[str] = frozenset().union(*(f.functions for f in self.formulas))
        self.free_names: tuple[NameRef, ...] = tuple(r for f in self.formulas for r in f.free_names)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    @property
    def is_literal(self) -> bool:
        return not self.formulas

    def render(self, ctx: EvalContext, escape: Callable[[str], str] | None = None) -> str:
        """The text with every hole replaced by its value; an error value raises PowerFxError.

        `escape`, when given, is applied to each hole's text and never to the template's own
        text: a `speak` template's SSML stays markup, the caller's words put in it do not.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.evaluate(ctx)
            if isinstance(value, ErrorValue):
                raise PowerFxError(
                    f"{{{part.source}}} gave an error ({value.kind.name}): {value.message}",
                    value.span or part.ast.span,
                )
            if isinstance(value, (Record, Table, UntypedObject)) and not (
                isinstance(value, UntypedObject) and not isinstance(value.raw, (dict, list))
            ):
                try:
                    shown = json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"))
                except (TypeError, ValueError) as exc:
                    raise PowerFxError(f"{{{part.source}}} cannot be shown as text: {exc}", part.ast.span) from exc
            else:
                shown = to_text(value)
            out.append(shown if escape is None else escape(shown))
        return "".join(out)


def parse_template(text: str, origin: TextOrigin | None = None) -> TemplateResult:
    """Parse message text with `{expr}` holes; never raises for any text."""
    where = origin if origin is not None else DEFAULT_ORIGIN
    if not isinstance(text, str):
        raise PowerFxError(f"A template must be text, not {type(text).__name__}.")
    parts: list[str | Formula] = []
    diagnostics: list[Diagnostic] = []
    literal: list[str] = []
    names: set[str] = set()
    free_names: list[NameRef] = []
    i = 0
    n = len(text)
    failed = False
    while i < n:
        ch = text[i]
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = _hole_end(text, i)
        if end is None or text[i + 1 : end].strip() == "":
            literal.append(ch)
            i += 1
            continue
        content = text[i + 1 : end]
        result = parse_formula(content, sub_origin(where, text, i + 1, len(content)))
        names.update(result.names)
        free_names.extend(result.free_names)
        if result.formula is None:
            syntax = [d for d in result.diagnostics if d.code.startswith("PFX1")]
            if syntax:
                first = syntax[0]
                diagnostics.append(
                    Diagnostic(
                        PFX_TEMPLATE_HOLE,
                        Severity.WARNING,
                        f"'{{{content}}}' is not a valid formula ({first.message}); it is shown as literal text.",
                        where.span(text, i, end + 1),
                    )
                )
                literal.append(text[i : end + 1])
                i = end + 1
                continue
            diagnostics.extend(result.diagnostics)
            failed = True
            i = end + 1
            continue
        diagnostics.extend(result.diagnostics)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(result.formula)
        i = end + 1
    if literal:
        parts.append("".join(literal))
    if failed:
        return TemplateResult(None, diagnostics, frozenset(names), tuple(free_names))
    return TemplateResult(
        Template(text, tuple(parts)), diagnostics, frozenset(names), tuple(free_names)
    )
