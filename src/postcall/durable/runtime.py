"""The process-wide state a running workflow needs: the store, the programs, the executor id, HTTP clients, the drain gate.

DBOS is a process-wide singleton and so is this: the executor installs a `RunRuntime` before
DBOS launches and removes it after DBOS stops.  Workflows reach it through `runtime()`.

Runs are synchronous DBOS workflows, one per DBOS executor thread: DBOS then checkpoints a
step on the run's own thread, where an async workflow pays two thread hops per database call
(measured: about a quarter of a worker's CPU per run).  A step's action (`execute_action`,
shared with in-call actions) is a coroutine; it runs on an event loop kept by that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx

from postcall.actions import http as actions_http
from postcall.durable.program import ProgramRegistry
from postcall.durable.running import RunningMarks
from postcall.errors import ConfigError
from postcall.store import Store

T = TypeVar("T")
RUNNING_MARK_AFTER_S = 0.5  # a run still going after this long is shown running (see durable/running.py)


class RunParked(BaseException):
    """Ends a run's thread without an outcome: the run is handed back (drain) or its executor stopped.

    A BaseException, so that DBOS, which records an ERROR outcome for any Exception a workflow
    raises, records none: the run stays PENDING for the queue (or a takeover) to resume.
    """


class RunRuntime:
    def __init__(self, store: Store, programs: ProgramRegistry, executor_id: str, *, record_attempts: bool = True) -> None:
        self.store = store
        self.programs = programs
        self.executor_id = executor_id
        self.record_attempts = record_attempts
        self._lock = threading.Lock()
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._active: set[str] = set()
        self._parked: set[str] = set()
        self._draining = threading.Event()
        self._released = threading.Event()
        self._loops = threading.local()
        self.marks = RunningMarks(lambda run_id: store.begin_run(run_id, executor_id=executor_id), after_s=RUNNING_MARK_AFTER_S)
        self.on_finished: Callable[[str, str], None] | None = None

    def run_coroutine(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` to its end on this thread's own event loop (a run's thread, see the module docstring)."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._loops.loop = asyncio.new_event_loop()
        return loop.run_until_complete(coro)

    # -- HTTP clients, one per event loop (an AsyncClient must stay on the loop that made it)

    def http_client(self) -> httpx.AsyncClient:
        loop_id = id(asyncio.get_running_loop())
        with self._lock:
            client = self._clients.get(loop_id)
            if client is None:
                client = actions_http.http_client()  # the one client factory
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

    def release_parked(self) -> None:
        """The parked runs were handed back (or the executor stops): their threads end (RunParked)."""
        self._released.set()

    def step_gate(self, run_id: str) -> None:
        """Return at once, unless the worker is draining or stopped: then the run goes no further.

        A parked run has finished its last step and will start no other; the executor hands it
        back to the queue (DBOS re-enqueues it), then releases it: its thread ends with RunParked
        and no outcome, and another worker replays it from its recorded steps and carries on.
        """
        if not self._draining.is_set() and not self._released.is_set():
            return
        with self._lock:
            self._parked.add(run_id)
        self._released.wait()
        raise RunParked(run_id)

    def close(self) -> None:
        self.release_parked()
        self.marks.close()


_current: RunRuntime | None = None


def install_runtime(rt: RunRuntime | None) -> None:
    global _current
    _current = rt


def runtime() -> RunRuntime:
    if _current is None:
        raise ConfigError("No post-call executor is running in this process; start one with postcall.durable.Executor.")
    return _current
