"""Agent outputs back from their JSON form (as kept for replaying a deduplicated delivery)."""

from __future__ import annotations

from typing import Any

from postcall.engine.activity import (
    AgentOutput,
    EmitActivity,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.vocabulary import ActivityType, OutputKind


def output_from_json(data: dict[str, Any]) -> AgentOutput:
    """The inverse of `postcall.engine.activity.output_to_json`."""
    fields = {k: v for k, v in data.items() if k != "type"}
    kind = data.get("type")
    if kind == OutputKind.SAY:
        return Say(**fields)
    if kind == OutputKind.LISTEN:
        return Listen(**fields)
    if kind == OutputKind.HANG_UP:
        return HangUp(**fields)
    if kind == OutputKind.TRANSFER:
        target = dict(fields.pop("target"))
        target_kind = target.pop("type", None)
        if target_kind == "TransferToAgent":
            return Transfer(target=TransferToAgent(**target), **fields)
        return Transfer(target=TransferToPhoneNumber(**target), **fields)
    if kind == OutputKind.EMIT_ACTIVITY:
        return EmitActivity(
            type=ActivityType(fields.get("type_", "event")),
            name=fields.get("name"),
            value=fields.get("value"),
        )
    raise ValueError(f"Unknown agent output type {kind!r}.")
