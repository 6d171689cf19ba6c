"""What a post-call run executes: a deterministic program, known to the durable layer by name and JSON only.

The lifecycle layer registers one factory per kind of program (for instance "topic": a
post-call topic evaluated by the engine).  A run stores the program's name and its JSON input;
on every (re)execution the workflow builds a fresh program from that input and drives it:

    request = program.start()
    while request is not None:
        result = <one durable step carrying out request>
        request = program.resume(result)
    summary = program.outcome()

A program must be deterministic: given the same input and the same results it asks for the
same requests in the same order.  That is what lets a crashed run replay its recorded results
and carry on after its last completed step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.settings import ActionSettings
from postcall.errors import ConfigError


class Program(Protocol):
    def start(self) -> ActionRequest | None:
        """The first side effect to carry out, or None when the program has nothing to do."""
        ...

    def resume(self, result: ActionResult) -> ActionRequest | None:
        """Feed the result of the last request; the next request, or None when done."""
        ...

    def outcome(self) -> dict[str, Any]:
        """JSON summary once done: at least "status" ("succeeded" or "failed"), and "error",
        "log" (a list of lines) when there is something to say."""
        ...

    def action_settings(self) -> ActionSettings:
        """Retry policy, allowed hosts, flow bindings, timeouts and run budget for this run."""
        ...


ProgramFactory = Callable[[dict[str, Any]], Program]

_factories: dict[str, ProgramFactory] = {}
_lock = threading.Lock()


def register_program(name: str, factory: ProgramFactory) -> None:
    """Make runs whose program is `name` buildable in this process (re-registering replaces)."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"A program name must be a non-empty string, not {name!r}.")
    with _lock:
        _factories[name] = factory


def program_factory(name: str) -> ProgramFactory:
    """The factory registered under `name`; ConfigError naming the known ones otherwise."""
    with _lock:
        factory = _factories.get(name)
        known = sorted(_factories)
    if factory is None:
        raise ConfigError(
            f"No program named {name!r} is registered in this process (known: {', '.join(known) or 'none'}). "
            "Start the worker with the agent whose lifecycle registers it."
        )
    return factory


def registered_programs() -> list[str]:
    with _lock:
        return sorted(_factories)
