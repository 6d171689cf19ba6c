"""A flow bound to a Python callable (agent.yaml `flows: {id: {python: ...}}`) for harness tests."""

from __future__ import annotations

from typing import Any

CALLS: list[dict[str, Any]] = []


def outcome(inputs: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(inputs)
    return {"result": f"recorded {inputs.get('reason')}"}
