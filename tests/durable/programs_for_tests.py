"""Programs registered by the run tests, beside the built-in scripted one."""

from __future__ import annotations

from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.settings import ActionSettings
from postcall.durable import ProgramRegistry


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


def register(programs: ProgramRegistry) -> None:
    programs.register("exploding", Exploding)


def hook(programs: ProgramRegistry, agent_path: str) -> None:
    """A `--install durable.programs_for_tests:hook` for `postcall worker` and `runs redrive`."""
    register(programs)
