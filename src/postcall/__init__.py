"""postcall: when a call ends, the work that must follow it happens, once, every time."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
