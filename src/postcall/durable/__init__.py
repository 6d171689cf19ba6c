"""Durable post-call runs on DBOS: one checkpointed step per side effect, takeover of dead workers.

Public API: `Program`, `ProgramFactory`, `ProgramRegistry` (program.py); `Executor`,
`ExecutorConfig` (executor.py).  An executor runs the programs of the registry its starter
hands it, nothing else.  The side effects themselves (HTTP, flows, telemetry,
retries, allowed hosts) are carried out by `postcall.actions`, the same layer in-call
requests, `chat`, `call` and the test harness use.  Importing this package does not import
DBOS; starting an executor does.
"""

from __future__ import annotations

from postcall.durable.executor import Executor, ExecutorConfig
from postcall.durable.program import (
    Program,
    ProgramFactory,
    ProgramRegistry,
)

__all__ = [
    "Executor",
    "ExecutorConfig",
    "Program",
    "ProgramFactory",
    "ProgramRegistry",
]
