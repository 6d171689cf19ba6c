"""postcall's own Power Fx: parse formulas and message templates once, evaluate them many times.

Public API (see docs/powerfx.md):

    parse_formula(text, origin=None) -> ParseResult(formula, diagnostics)
    parse_template(text, origin=None) -> TemplateResult(template, diagnostics)
    Formula.evaluate(EvalContext(scope=..., now=...)) -> Value
    Template.render(EvalContext(...)) -> str
    to_json / from_json / to_text / format_value, is_formula, KNOWN_FUNCTIONS
"""

from __future__ import annotations

from postcall.powerfx.ast import Node, walk
from postcall.powerfx.convert import format_value, from_json, to_json, to_text
from postcall.powerfx.enums import BUILTIN_ENUMS, OptionSet
from postcall.powerfx.formula import Formula, NameRef, ParseResult, is_formula, parse_formula
from postcall.powerfx.functions import KNOWN_FUNCTIONS
from postcall.powerfx.runtime import WELL_KNOWN_ROOTS, EvalContext, Limits, SeededRandom
from postcall.powerfx.template import Template, TemplateResult, parse_template
from postcall.powerfx.values import (
    Color,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
)

# Names a formula may start with besides the caller's scope: the built-in option sets
# (`DateTimeFormat.UTC`, `ErrorKind.Div0`...); and the roots that read as an empty record when
# the scope lacks them (Topic, Global, System, Env, Conversation, User, Bot).
OPTION_SET_NAMES: frozenset[str] = frozenset(BUILTIN_ENUMS)

__all__ = [
    "OPTION_SET_NAMES",
    "WELL_KNOWN_ROOTS",
    "KNOWN_FUNCTIONS",
    "Color",
    "ErrorKind",
    "ErrorValue",
    "EvalContext",
    "SeededRandom",
    "Formula",
    "Limits",
    "NameRef",
    "Node",
    "OptionSet",
    "OptionValue",
    "ParseResult",
    "Record",
    "Table",
    "Template",
    "TemplateResult",
    "UntypedObject",
    "Value",
    "format_value",
    "from_json",
    "is_formula",
    "parse_formula",
    "parse_template",
    "to_json",
    "to_text",
    "walk",
]
