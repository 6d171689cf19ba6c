"""Python callables bound to connector operations in agents/nodes/agent.yaml `connectors:`."""

from __future__ import annotations

from typing import Any

CALLS: list[dict[str, Any]] = []


def user_get(inputs: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(dict(inputs))
    return {"displayName": "Ada Lovelace", "country": inputs.get("country") or "UK"}


def failing(inputs: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("the directory is down")
