"""Stable diagnostic codes of the Power Fx package (PFX1xx syntax, PFX3xx names and types)."""

from __future__ import annotations

from postcall.diagnostics import Severity, register_code

PFX_SYNTAX = register_code("PFX100", Severity.ERROR, "Power Fx text that cannot be read (bad character, unterminated literal)")
PFX_UNEXPECTED_TOKEN = register_code("PFX101", Severity.ERROR, "Power Fx syntax error: unexpected token")
PFX_UNEXPECTED_END = register_code("PFX102", Severity.ERROR, "Power Fx syntax error: the formula ends too early")
PFX_TOO_DEEP = register_code("PFX103", Severity.ERROR, "Power Fx formula nested too deeply or too long")
PFX_TEMPLATE_HOLE = register_code("PFX110", Severity.WARNING, "A {…} hole in message text is not a valid formula; it is shown as literal text")
PFX_UNKNOWN_FUNCTION = register_code("PFX301", Severity.ERROR, "Unknown Power Fx function")
PFX_ARITY = register_code("PFX302", Severity.ERROR, "Wrong number of arguments to a Power Fx function")
PFX_TYPE = register_code("PFX303", Severity.ERROR, "Power Fx type error found before evaluation")
PFX_BAD_NAME = register_code("PFX304", Severity.ERROR, "Invalid use of a name in a Power Fx formula")
