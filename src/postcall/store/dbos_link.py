"""The store's link to DBOS: enqueue a run inside the store's own transaction, rewind a failed run.

DBOS's `DBOSClient.enqueue_in_transaction(conn, options, ...)` writes the workflow's ENQUEUED
row through a caller-owned SQLAlchemy connection (verified in dbos 3.4.0: `_client.py`, it
calls `SystemDatabase.init_workflow_with_connection`, which "does not begin, commit, rollback,
or retry").  Because our tables and DBOS's live in one database, the end of a conversation and
its runs commit together or not at all, on SQLite as on PostgreSQL; no outbox is needed.

The names here are the contract between enqueuer and executor: the workflow name, the queue,
the application name and the pinned application version.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from postcall.errors import StoreError
from postcall.store.records import RunEnvelope

if TYPE_CHECKING:
    from dbos import DBOSClient

APP_NAME = "postcall"
WORKFLOW_NAME = "postcall.run"
DEFAULT_QUEUE = "postcall-runs"

RUN_PROTOCOL = 1
"""Bumped only when the workflow's shape changes incompatibly (its input, or the order and
names of its steps).  DBOS recovers and dequeues only workflows of its own application
version, so a version that changed with every release would strand pending runs at each
deploy; this one changes only when old runs truly cannot be replayed by new code."""

APP_VERSION = f"postcall-runs-v{RUN_PROTOCOL}"


def dbos_serializer() -> Any:
    """JSON, not pickle: inputs and step results stay readable and loading them runs no code."""
    from dbos import DBOSPortableJSONSerializer

    return DBOSPortableJSONSerializer()


REWIND_WAIT_S = 10.0  # longest wait for a just-failed run's workflow to reach its terminal state


class DBOSLink:
    """A DBOSClient on the store's engine, created on first use (importing dbos takes ~0.5 s)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._client: DBOSClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> DBOSClient:
        with self._lock:
            if self._client is None:
                from dbos import DBOSClient

                self._client = DBOSClient(
                    system_database_engine=self._engine,
                    serializer=dbos_serializer(),
                    application_name=APP_NAME,
                    lazy=True,
                )
            return self._client

    def enqueue_in_transaction(
        self, conn: sa.Connection, *, run_id: str, queue_name: str, workflow_input: RunEnvelope
    ) -> None:
        """Enqueue the run's workflow in `conn`'s open transaction; a second enqueue of the same id is a no-op."""
        self.client.enqueue_in_transaction(
            conn,
            {
                "workflow_name": WORKFLOW_NAME,
                "queue_name": queue_name,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
                "application_name": APP_NAME,
            },
            workflow_input,
        )

    def workflow_status(self, run_id: str) -> str | None:
        """DBOS's status of the run's workflow (ENQUEUED, PENDING, SUCCESS, ERROR, ...), None if unknown."""
        from dbos import error

        try:
            return str(self.client.retrieve_workflow(run_id).get_status().status)
        except error.DBOSNonExistentWorkflowError:
            return None

    def step_numbers(self, run_id: str) -> list[tuple[int, str]]:
        """(step number, DBOS function name) of every recorded step of the run."""
        return [(int(s["function_id"]), str(s["function_name"])) for s in self.client.list_workflow_steps(run_id)]

    def rewind(self, run_id: str, from_step: int, queue_name: str) -> None:
        """Drop the run's recorded steps from `from_step` on and enqueue it again under the same id.

        DBOS's rewind keeps the workflow id (fork_workflow would make a new one), so the run
        id, the idempotency keys derived from the conversation and the history stay as they are.
        """
        # A run is marked failed by its workflow's last step, a moment before DBOS records the
        # workflow as ERROR; a redrive in that moment waits for it (bounded) instead of failing.
        deadline = time.monotonic() + REWIND_WAIT_S
        while self.workflow_status(run_id) in ("PENDING", "ENQUEUED") and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            self.client.rewind_workflow(
                run_id, start_step=from_step, application_version=APP_VERSION, queue_name=queue_name
            )
        except Exception as exc:
            raise StoreError(f"Run {run_id!r} could not be rewound to step {from_step}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.destroy()
                self._client = None
