"""Durable post-call runs on DBOS, and the action layer (HTTP, flows, log events) shared with in-call requests.

Public API: `Program`, `ProgramFactory`, `register_program` (program.py); `ActionSettings`,
`RetryPolicy`, `FlowBinding` (policy.py); `execute_action`, `TelemetrySink` (runner.py);
`Executor`, `ExecutorConfig` (executor.py).  Importing this package does not import DBOS;
starting an executor does.
"""

from __future__ import annotations

from postcall.durable.attempts import AttemptRecord
from postcall.durable.executor import Executor, ExecutorConfig
from postcall.durable.policy import ActionSettings, FlowBinding, RetryPolicy
from postcall.durable.program import (
    Program,
    ProgramFactory,
    program_factory,
    register_program,
    registered_programs,
)
from postcall.durable.runner import TelemetrySink, execute_action

__all__ = [
    "ActionSettings",
    "AttemptRecord",
    "Executor",
    "ExecutorConfig",
    "FlowBinding",
    "Program",
    "ProgramFactory",
    "RetryPolicy",
    "TelemetrySink",
    "execute_action",
    "program_factory",
    "register_program",
    "registered_programs",
]
