"""Marks a post-call run running only once it has gone on for a moment: one thread for all runs.

Most runs take a few milliseconds: they go from pending to their outcome in one commit
(`finish_run` with `began`), a commit fewer per run.  A slower run (a retrying step, a slow
CRM) shows as running `after_s` after it started; a failed attempt shows it at once (the store
does that when it records the attempt).  Runs are synchronous DBOS workflows, each on its own
thread, so the deadlines are kept here, on one daemon thread, rather than a timer per run.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import time
from collections.abc import Callable


class RunningMarks:
    def __init__(self, mark: Callable[[str], int], *, after_s: float) -> None:
        """`mark(run_id)` marks a run running and returns its execution count (Store.begin_run)."""
        self._mark = mark
        self._after_s = after_s
        self._cond = threading.Condition()
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}  # run id -> deadline (time.monotonic), not yet marked
        self._writing: set[str] = set()
        self._forget: set[str] = set()
        self._marked: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, run_id: str) -> dt.datetime:
        """Start the clock of a run; returns its start (what `finish_run` records if never marked)."""
        started = dt.datetime.now(dt.UTC)
        deadline = time.monotonic() + self._after_s
        with self._cond:
            self._due[run_id] = deadline
            self._forget.discard(run_id)
            heapq.heappush(self._heap, (deadline, run_id))
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="postcall-running-marks", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return started

    def settle(self, run_id: str) -> int | None:
        """Stop the clock before the outcome is stored: the execution count if the run was marked, else None.

        A mark being written is waited for, so the outcome never lands before it.
        """
        with self._cond:
            if self._due.pop(run_id, None) is not None:
                return None
            while run_id in self._writing:
                self._cond.wait()
            return self._marked.pop(run_id, None)

    def discard(self, run_id: str) -> None:
        """The run stopped without an outcome (handed back, interrupted): no mark after this."""
        with self._cond:
            self._due.pop(run_id, None)
            self._marked.pop(run_id, None)
            if run_id in self._writing:
                self._forget.add(run_id)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _next_due(self) -> list[str] | None:
        """Wait for the earliest deadline; the runs due now (moved to writing), or None once closed."""
        with self._cond:
            while not self._closed:
                while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # settled or discarded (or watched again) since
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    due = []
                    while self._heap and self._heap[0][0] <= now:
                        deadline, run_id = heapq.heappop(self._heap)
                        if self._due.get(run_id) == deadline:
                            del self._due[run_id]
                            self._writing.add(run_id)
                            due.append(run_id)
                    return due
                self._cond.wait(self._heap[0][0] - now if self._heap else None)
            return None

    def _loop(self) -> None:
        while (due := self._next_due()) is not None:
            for run_id in due:
                try:
                    executions: int | None = self._mark(run_id)
                except Exception:  # bookkeeping only: the outcome still records the run's start
                    executions = None
                with self._cond:
                    self._writing.discard(run_id)
                    if executions is not None and run_id not in self._forget:
                        self._marked[run_id] = executions
                    self._forget.discard(run_id)
                    self._cond.notify_all()
