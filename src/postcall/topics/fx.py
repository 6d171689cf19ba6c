"""The one door from topics into Power Fx (parse formulas and message templates)."""

from __future__ import annotations

from postcall.powerfx import (
    KNOWN_FUNCTIONS,
    OPTION_SET_NAMES,
    WELL_KNOWN_ROOTS,
    Formula,
    NameRef,
    ParseResult,
    Template,
    TemplateResult,
    ast,
    parse_formula,
    parse_template,
    walk,
)

__all__ = [
    "KNOWN_FUNCTIONS",
    "ast",
    "OPTION_SET_NAMES",
    "WELL_KNOWN_ROOTS",
    "Formula",
    "NameRef",
    "ParseResult",
    "Template",
    "TemplateResult",
    "parse_formula",
    "parse_template",
    "walk",
]
