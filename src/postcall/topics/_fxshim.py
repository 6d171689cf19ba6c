"""Temporary stand-in for postcall.powerfx until that package lands (deleted afterwards)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from postcall.diagnostics import Diagnostic, TextOrigin

KNOWN_FUNCTIONS: frozenset[str] = frozenset(
    "If IsBlank Text Concatenate Value IsEmpty Coalesce Lower Upper Len Left Mid Right Find "
    "Substitute StartsWith EndsWith Trim Now Today First Last FirstN LastN CountRows LookUp "
    "Filter ForAll Split Concat Switch IfError ParseJSON JSON DateAdd DateDiff DateValue Weekday "
    "Hour Year Month Day EncodeUrl IsMatch Sequence With Index Round RoundUp RoundDown Abs Not "
    "And Or Blank Table".split()
)

_STRING = re.compile(r'"(?:[^"]|"")*"')
_NAME = re.compile(r"(?<![\w.'])([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(\s*\()?")


@dataclass(frozen=True)
class Formula:
    source: str
    names: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    ast: Any = None

    def evaluate(self, ctx: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class ParseResult:
    formula: Formula | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class Template:
    source: str
    formulas: tuple[Formula, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        out: set[str] = set()
        for f in self.formulas:
            out |= f.names
        return frozenset(out)

    def render(self, ctx: Any) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class TemplateResult:
    template: Template | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _scan(text: str) -> Iterator[tuple[str, bool]]:
    stripped = _STRING.sub('""', text)
    for m in _NAME.finditer(stripped):
        yield m.group(1), m.group(2) is not None


def parse_formula(text: str, origin: TextOrigin | None = None) -> ParseResult:
    names: set[str] = set()
    functions: set[str] = set()
    for name, is_call in _scan(text):
        if is_call:
            functions.add(name)
        elif "." in name:
            names.add(name)
    return ParseResult(Formula(text, frozenset(names), frozenset(functions)))


def parse_template(text: str, origin: TextOrigin | None = None) -> TemplateResult:
    formulas = tuple(
        f for m in re.finditer(r"\{([^{}]*)\}", text)
        if (f := parse_formula(m.group(1), origin).formula) is not None
    )
    return TemplateResult(Template(text, formulas))


def is_formula(s: object) -> bool:
    return isinstance(s, str) and s.startswith("=")
