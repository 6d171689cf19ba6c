"""A program read from a JSON list of actions: for tests, drills and benchmarks of the durable layer without the engine.

Input:

    {"conversation_id": "c1", "topic": "crm",
     "steps": [{"node_id": "patch", "kind": "http", "payload": {...}, "on_error": "raise"},
               {"node_id": "log", "kind": "log", "payload": {"event_name": "done", "properties": {}}}],
     "settings": {...ActionSettings.to_json()...}}

Each step becomes one ActionRequest with the idempotency key `<conversation>:<topic>:<node>`.
`on_error` "raise" (the default, like RaiseErrorBehavior) fails the run when the step fails;
"continue" (like ContinueOnErrorBehavior) records the failure and goes on.
"""

from __future__ import annotations

from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.settings import ActionSettings
from postcall.durable.program import ProgramRegistry
from postcall.errors import ConfigError

PROGRAM_NAME = "scripted"


class ScriptedProgram:
    """Runs the steps of its input in order; see the module docstring for the input shape."""

    def __init__(self, data: dict[str, Any]) -> None:
        try:
            self.conversation_id = str(data["conversation_id"])
            self.topic = str(data["topic"])
            self.steps = list(data["steps"])
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"A scripted program needs conversation_id, topic and steps; missing {exc}.") from exc
        self.settings = ActionSettings.from_json(data.get("settings") or {})
        self.index = -1
        self.log: list[str] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.error: str | None = None
        self.failed = False

    def _request(self, index: int) -> ActionRequest | None:
        if index >= len(self.steps):
            return None
        step = self.steps[index]
        node_id = str(step["node_id"])
        return ActionRequest(
            kind=step.get("kind", "http"),
            node_id=node_id,
            topic=self.topic,
            conversation_id=self.conversation_id,
            idempotency_key=f"{self.conversation_id}:{self.topic}:{node_id}",
            payload=dict(step.get("payload") or {}),
        )

    def start(self) -> ActionRequest | None:
        self.index = 0
        return self._request(0)

    def resume(self, result: ActionResult) -> ActionRequest | None:
        step = self.steps[self.index]
        node_id = str(step["node_id"])
        self.results[node_id] = {"ok": result.ok, "status_code": result.status_code, "attempts": result.attempts}
        if not result.ok:
            self.log.append(f"{node_id}: failed after {result.attempts} attempt(s): {result.error}")
            if step.get("on_error", "raise") != "continue":
                self.failed = True
                self.error = f"Step {node_id!r} failed: {result.error}"
                return None
        else:
            self.log.append(f"{node_id}: ok" + (f" ({result.status_code})" if result.status_code else ""))
        self.index += 1
        return self._request(self.index)

    def outcome(self) -> dict[str, Any]:
        return {
            "status": "failed" if self.failed else "succeeded",
            "error": self.error,
            "log": list(self.log),
            "results": dict(self.results),
        }

    def action_settings(self) -> ActionSettings:
        return self.settings


def register(programs: ProgramRegistry) -> None:
    """Register the scripted program under the name "scripted" with `programs`."""
    programs.register(PROGRAM_NAME, ScriptedProgram)


INSTALL = "postcall.devtools.scripted:install"
"""The `--install` hook that adds the scripted program to a worker or a redrive (drills, tests, benchmarks)."""


def install(programs: ProgramRegistry, agent_path: str) -> None:
    """`postcall worker --install postcall.devtools.scripted:install`: production workers run
    only the agent's post-call topics; a drill or a test that records scripted runs asks for this."""
    register(programs)
