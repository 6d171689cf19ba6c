"""The process's turn writer: writes of conversations' turns, several per transaction when they queue.

Every write of a call's turn (and the creation of a conversation) goes through one `TurnWriter`.
On SQLite, where the database takes one writer at a time, it is one thread, and whatever has
queued up while it wrote is written next in one transaction: one lock taken and one fsync for all
of them (a group commit).  Under load the writes of many calls share the cost of a commit instead
of queueing behind one another; idle, a write goes alone and waits for nothing.  On PostgreSQL
rows are locked per conversation, so several threads write one turn each.

A write is a function of a `TurnBatch` (the store's transaction for several turns).  When one of
a batch fails the transaction is rolled back and each of its writes is done again alone, so a
failing write fails only its own caller.  Writes of one batch lock conversations in id order
(stable: two writes of one conversation keep their order), so two processes batching the same
conversations cannot deadlock.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from postcall.store import Store, TurnBatch

log = structlog.get_logger("postcall.lifecycle")

T = TypeVar("T")
MAX_BATCH = 32  # writes in one transaction at most


@dataclass
class _Job(Generic[T]):
    key: str  # the conversation written (the order of locking)
    fn: Callable[[TurnBatch], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        def apply() -> None:
            if self.future.done():
                return  # the caller went away (its request was cancelled): the write stands
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        try:
            self.loop.call_soon_threadsafe(apply)
        except RuntimeError:  # the loop closed meanwhile: nobody waits for this any more
            pass


class TurnWriter:
    """Runs turn writes on its own thread(s); `await writer.write(key, fn)` returns `fn`'s result."""

    def __init__(self, store: Store, *, threads: int | None = None, max_batch: int | None = None) -> None:
        self.store = store
        self.max_batch = max_batch if max_batch is not None else (MAX_BATCH if store.is_sqlite else 1)
        self._count = threads if threads is not None else (1 if store.is_sqlite else 8)
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    async def write(self, key: str, fn: Callable[[TurnBatch], T]) -> T:
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(key, fn, loop, future))
        return await future

    def close(self) -> None:
        """Finish what is queued, then stop the threads (without waiting for them)."""
        with self._lock:
            if self._started:
                for _ in range(self._count):
                    self._queue.put(None)
                self._started = False

    def _start(self) -> None:
        with self._lock:
            if not self._started:  # (again after close: a closed writer that is used starts anew)
                for n in range(self._count):
                    threading.Thread(target=self._run, name=f"postcall-turn-writer-{n}", daemon=True).start()
                self._started = True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            self._execute(jobs)
            if stop:
                return

    def _execute(self, jobs: list[_Job[Any]]) -> None:
        if len(jobs) > 1:
            ordered = sorted(jobs, key=lambda j: j.key)  # stable: one conversation's writes keep their order
            try:
                with self.store.turns() as batch:
                    results = [job.fn(batch) for job in ordered]
            except Exception as exc:  # one write failed: the batch rolled back; do each alone
                log.info("turn_batch_retried_alone", writes=len(jobs), error=type(exc).__name__)
            else:
                for job, result in zip(ordered, results, strict=True):
                    job.settle(result)
                return
        for job in jobs:
            try:
                with self.store.turns() as batch:
                    result = job.fn(batch)
            except BaseException as exc:  # handed to the caller, whose request answers for it
                job.settle(error=exc)
            else:
                job.settle(result)
