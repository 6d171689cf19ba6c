"""The process-wide state a running workflow needs: the store, the executor id, HTTP clients, the drain gate.

DBOS is a process-wide singleton and so is this: the executor installs a `RunRuntime` before
DBOS launches and removes it after DBOS stops.  Workflows reach it through `runtime()`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx

from postcall.errors import ConfigError
from postcall.store import Store


class RunRuntime:
    def __init__(self, store: Store, executor_id: str, *, record_attempts: bool = True) -> None:
        self.store = store
        self.executor_id = executor_id
        self.record_attempts = record_attempts
        self._lock = threading.Lock()
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._active: set[str] = set()
        self._parked: set[str] = set()
        self._draining = threading.Event()
        self.on_finished: Callable[[str, str], None] | None = None

    # -- HTTP clients, one per event loop (an AsyncClient must stay on the loop that made it)

    def http_client(self) -> httpx.AsyncClient:
        loop_id = id(asyncio.get_running_loop())
        with self._lock:
            client = self._clients.get(loop_id)
            if client is None:
                client = httpx.AsyncClient(
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                    trust_env=False,
                )
                self._clients[loop_id] = client
            return client

    # -- bookkeeping of the runs executing in this process

    def active_started(self, run_id: str) -> None:
        with self._lock:
            self._active.add(run_id)

    def active_ended(self, run_id: str) -> None:
        with self._lock:
            self._active.discard(run_id)
            self._parked.discard(run_id)

    def run_finished(self, run_id: str, status: str) -> None:
        if self.on_finished is not None:
            self.on_finished(run_id, status)

    def active(self) -> set[str]:
        with self._lock:
            return set(self._active)

    def parked(self) -> set[str]:
        with self._lock:
            return set(self._parked)

    # -- draining: a stopping worker lets each run finish its current step, then parks it

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def start_draining(self) -> None:
        self._draining.set()

    async def step_gate(self, run_id: str) -> None:
        """Return at once, unless the worker is draining: then park the run here for good.

        A parked run has finished its last step and will start no other; the executor hands it
        back to the queue (DBOS re-enqueues it) and the process exits, so another worker
        replays it from its recorded steps and carries on.
        """
        if not self._draining.is_set():
            return
        with self._lock:
            self._parked.add(run_id)
        await asyncio.Event().wait()


_current: RunRuntime | None = None


def install_runtime(rt: RunRuntime | None) -> None:
    global _current
    _current = rt


def runtime() -> RunRuntime:
    if _current is None:
        raise ConfigError("No post-call executor is running in this process; start one with postcall.durable.Executor.")
    return _current
