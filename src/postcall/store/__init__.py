"""Persistence: conversations, history, ends, post-call runs, telemetry and heartbeats, beside DBOS's tables.

`open_store(url)` is the entry point; see docs/store.md.
"""

from __future__ import annotations

import os

from postcall.clock import Clock
from postcall.store.database import create_engine, resolve_database_url
from postcall.store.dbos_link import APP_NAME, APP_VERSION, DEFAULT_QUEUE, WORKFLOW_NAME
from postcall.store.errors import (
    AmbiguousRunIdError,
    ConcurrentTurnError,
    ConversationExistsError,
    ConversationNotFoundError,
    RunNotFoundError,
    RunNotRedrivableError,
)
from postcall.store.migrate import migrate
from postcall.store.records import (
    ActivityRecord,
    Conversation,
    NewActivity,
    RedriveResult,
    Run,
    RunEnvelope,
    RunSpec,
    RunStepRecord,
    StoredEnd,
    WorkerHeartbeat,
    run_id_for,
)
from postcall.store.retention import EraseReport, PurgeReport, RetentionDays
from postcall.store.store import Store, Turn, TurnBatch


def open_store(
    url: str | None = None,
    *,
    agent_dir: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    queue_name: str = DEFAULT_QUEUE,
    pool_size: int = 10,
) -> Store:
    """Open (creating and migrating if needed) the store at `url`.

    Without `url`: $POSTCALL_DATABASE_URL, else sqlite:///<agent_dir>/.postcall/postcall.db.
    DBOS's system tables are created in the same database, so that ending a conversation and
    enqueueing its post-call runs commit in one transaction.
    """
    resolved = resolve_database_url(agent_dir, url)
    engine = create_engine(resolved, pool_size=pool_size)
    try:
        migrate(engine, resolved)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, resolved, clock=clock, queue_name=queue_name)


__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DEFAULT_QUEUE",
    "WORKFLOW_NAME",
    "ActivityRecord",
    "AmbiguousRunIdError",
    "ConcurrentTurnError",
    "Conversation",
    "ConversationExistsError",
    "ConversationNotFoundError",
    "EraseReport",
    "NewActivity",
    "PurgeReport",
    "RedriveResult",
    "RetentionDays",
    "Run",
    "RunNotFoundError",
    "RunNotRedrivableError",
    "RunEnvelope",
    "RunSpec",
    "RunStepRecord",
    "StoredEnd",
    "Store",
    "Turn",
    "TurnBatch",
    "WorkerHeartbeat",
    "open_store",
    "resolve_database_url",
    "run_id_for",
]
