"""A skill bound as a Python callable (agent.yaml `flows: {"skill:<id>": {python: ...}}`)."""

from __future__ import annotations

from typing import Any


def balance(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"balance": f"{inputs.get('account', '?')}: 42 dollars"}
