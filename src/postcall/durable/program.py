"""What a post-call run executes: a deterministic program, known to the durable layer by name and JSON only.

Whoever starts an executor builds a `ProgramRegistry` (the lifecycle registers "topic": a
post-call topic evaluated by the engine; the developer tools register "scripted") and hands it
to the executor.  Nothing is registered by importing a module: a process runs exactly the
programs its starter named.  A run stores the program's name and its JSON input; on every
(re)execution the workflow builds a fresh program from that input and drives it:

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
from collections.abc import Callable, Mapping
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
"""Builds a program from a run's stored JSON input (the program parses it into its typed input)."""


class ProgramRegistry:
    """The programs one executor can run, by name; built by its starter and passed to `Executor`.

    Registration happens before the executor starts; runs look factories up from their own
    threads, hence the lock.
    """

    def __init__(self, factories: Mapping[str, ProgramFactory] | None = None) -> None:
        self._lock = threading.Lock()
        self._factories: dict[str, ProgramFactory] = {}
        for name, factory in (factories or {}).items():
            self.register(name, factory)

    def register(self, name: str, factory: ProgramFactory) -> None:
        """Make runs whose program is `name` buildable (re-registering a name replaces it)."""
        if not name or not isinstance(name, str):
            raise ConfigError(f"A program name must be a non-empty string, not {name!r}.")
        with self._lock:
            self._factories[name] = factory

    def factory(self, name: str) -> ProgramFactory:
        """The factory registered under `name`; ConfigError naming the known ones otherwise."""
        with self._lock:
            factory = self._factories.get(name)
            known = sorted(self._factories)
        if factory is None:
            raise ConfigError(
                f"No program named {name!r} is registered with this executor (known: {', '.join(known) or 'none'}). "
                "Start the worker with the agent whose lifecycle registers it."
            )
        return factory

    def build(self, name: str, data: dict[str, Any]) -> Program:
        """A fresh program `name` from a run's JSON input."""
        return self.factory(name)(data)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._factories
