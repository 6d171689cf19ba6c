"""Runtime errors of topics (RUN45x codes, RuntimeFault) and the log lines of a turn or a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postcall.diagnostics import Severity, SourceSpan, register_code
from postcall.errors import EngineError

RUN_EXPRESSION = register_code("RUN450", Severity.ERROR, "A formula failed at run time.")
RUN_UNSUPPORTED = register_code("RUN451", Severity.ERROR, "A node of an unsupported kind was run.")
RUN_HTTP = register_code("RUN452", Severity.ERROR, "An HTTP request failed (RaiseErrorBehavior).")
RUN_FLOW = register_code("RUN453", Severity.ERROR, "A flow failed or has no binding in agent.yaml.")
RUN_TOPIC = register_code("RUN454", Severity.ERROR, "A redirect names a topic that does not exist.")
RUN_GOTO = register_code("RUN455", Severity.ERROR, "A GotoAction names an action id that does not exist.")
RUN_LOOP = register_code("RUN456", Severity.ERROR, "A turn ran too many steps (an endless loop).")
RUN_VALUE = register_code("RUN457", Severity.ERROR, "A node got a value it cannot use.")
RUN_STATE = register_code("RUN458", Severity.ERROR, "Saved state does not match the agent's topics.")
RUN_INTERNAL = register_code("RUN459", Severity.ERROR, "A node failed in an unexpected way (a runtime bug).")
RUN_CONNECTOR = register_code(
    "RUN460", Severity.ERROR, "A connector action failed or is not bound in agent.yaml `connectors:`."
)



class RuntimeFault(EngineError):
    """A topic failed while running.  `error_code` becomes System.Error.Code (docs/engine.md)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        error_code: str,
        topic: str | None = None,
        node: str | None = None,
        span: SourceSpan | None = None,
        conversation_id: str | None = None,
    ) -> None:
        super().__init__(message, conversation_id=conversation_id, topic=topic, node=node, span=span)
        self.code = code
        self.error_code = error_code



@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a turn's or a run's log."""

    level: str  # info | warning | error
    message: str
    topic: str | None = None
    node: str | None = None
    code: str | None = None
    span: SourceSpan | None = None  # where a fault's formula or node is (file:line)

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "message": self.message,
            "topic": self.topic,
            "node": self.node,
            "code": self.code,
        }

    def __str__(self) -> str:
        where = f" [{self.topic}/{self.node}]" if self.topic and self.node else (
            f" [{self.topic}]" if self.topic else ""
        )
        code = f" {self.code}" if self.code else ""
        return f"{self.level}{code}{where}: {self.message}"
