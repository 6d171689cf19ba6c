"""One writer at a time on a SQLite file, handed over at once instead of found by polling.

SQLite lets one connection write at a time; a second writer gets SQLITE_BUSY and its busy
handler sleeps and tries again (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms ...).  Under
load those sleeps, not the writes, make the latency: a writer that waits for a 2 ms commit can
sleep 25 ms, and nobody is served in order.  So every connection postcall opens on a SQLite file
(the store's, DBOS's, the worker's) passes a gate before its first write of a transaction:

* a mutex per file in the process, so threads of one process queue on it in order;
* an exclusive `flock` on `<file>-postcall.lock`, so processes (server, workers, CLI) take
  turns; one thread per process looks for it, at most 1 ms apart (a system call, not a
  transaction), so a turn passes within a millisecond of the last write.

The gate is released when the transaction ends (commit, rollback, close).  SQLite's own lock
stays the authority: a writer that does not use the gate (the sqlite3 shell, another program)
is still waited out by the busy timeout.  Reads never pass the gate (WAL readers do not block).
A gate not obtained within the busy timeout raises the same "database is locked" error SQLite
would.  The lock file holds nothing and may be deleted while no postcall process runs.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

FIRST_PAUSE_S = 0.0001
LONGEST_PAUSE_S = 0.001  # the longest a waiting process sleeps before it looks again (SQLite's: 100 ms)
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "WITH", "VALUES")  # WITH ... INSERT is not used by postcall or DBOS


class WriteGate:
    """The gate of one SQLite file in this process (see the module docstring)."""

    def __init__(self, database: str, timeout_s: float) -> None:
        self.lock_path = f"{database}-postcall.lock"
        self.timeout_s = timeout_s
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        if not self._mutex.acquire(timeout=self.timeout_s):
            raise sqlite3.OperationalError("database is locked (no turn to write within the busy timeout)")
        try:
            self._flock(fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        try:
            self._flock(fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def _flock(self, operation: int) -> None:
        if self._fd is None or self._pid != os.getpid():  # a forked child must not share the parent's lock
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        if operation == fcntl.LOCK_UN:
            fcntl.flock(self._fd, operation)
            return
        deadline = time.monotonic() + self.timeout_s
        pause = FIRST_PAUSE_S
        while True:  # one thread per process tries (the others wait on the mutex): a cheap system call
            try:
                fcntl.flock(self._fd, operation | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError("database is locked (another process kept its turn to write)") from None
            time.sleep(pause)
            pause = min(pause * 1.5, LONGEST_PAUSE_S)


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def gate_for(database: str, timeout_s: float) -> WriteGate:
    """The process's gate for a SQLite file (one per resolved path, shared by all engines)."""
    key = str(Path(database).expanduser().resolve())
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriteGate(key, timeout_s)
        return gate


def _is_write(sql: Any) -> bool:
    return isinstance(sql, str) and not sql.lstrip().upper().startswith(_READS)


class GatedCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        self._gated(super().execute, sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        self._gated(super().executemany, sql, seq_of_parameters)
        return self

    def _gated(self, run: Any, sql: str, parameters: Any) -> None:
        conn: GatedConnection = self.connection  # type: ignore[assignment]
        conn.before(sql)
        try:
            run(sql, parameters)
        finally:
            conn.after()


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that passes its file's `WriteGate` before its transaction's first write."""

    gate: WriteGate | None = None
    _holding = False

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or GatedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def before(self, sql: str) -> None:
        if self.gate is not None and not self._holding and _is_write(sql):
            self.gate.acquire()
            self._holding = True

    def after(self) -> None:
        if self._holding and not self.in_transaction:  # a statement that opened no transaction (or failed)
            self._release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            assert self.gate is not None
            self.gate.release()
