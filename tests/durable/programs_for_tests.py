"""Programs registered by the run tests, beside the built-in scripted one."""

from __future__ import annotations

from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.settings import ActionSettings
from postcall.durable import register_program


class Exploding:
    """Asks for nothing and fails while computing its first request (an engine bug, say)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def start(self) -> ActionRequest | None:
        raise ValueError(f"cannot evaluate {self.data.get('formula')!r}")

    def resume(self, result: ActionResult) -> ActionRequest | None:
        return None

    def outcome(self) -> dict[str, Any]:
        return {"status": "succeeded"}

    def action_settings(self) -> ActionSettings:
        return ActionSettings()


def install() -> None:
    register_program("exploding", Exploding)
