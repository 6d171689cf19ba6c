"""The project's exception tree.

* PostCallError               root of everything this package raises on purpose
  x TopicError                an agent or topic could not be loaded (carries diagnostics)
  x PowerFxError              a formula failed to parse or evaluate (carries a span when known)
  x EngineError               a turn could not run (unsupported node at run time, bad state)
  x StoreError                the database refused or lost something
  x ActionError               a side effect failed (retryable, category, retry_after)
  x ChannelError              a provider request was malformed or unsigned
  x ConfigError               agent.yaml or the command line is wrong
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from postcall.vocabulary import ErrorCategory

if TYPE_CHECKING:
    from postcall.diagnostics import Diagnostic, SourceSpan


class PostCallError(Exception):
    """Root of the project's own errors."""


class TopicError(PostCallError):
    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics)


class PowerFxError(PostCallError):
    def __init__(self, message: str, span: SourceSpan | None = None, code: str = "RUN400") -> None:
        super().__init__(message)
        self.span = span
        self.code = code


class EngineError(PostCallError):
    def __init__(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        topic: str | None = None,
        node: str | None = None,
        span: SourceSpan | None = None,
    ) -> None:
        super().__init__(message)
        self.conversation_id = conversation_id
        self.topic = topic
        self.node = node
        self.span = span


class StoreError(PostCallError):
    pass


class ActionError(PostCallError):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        category: ErrorCategory = "unknown",
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.category = category
        self.retry_after = retry_after
        self.status_code = status_code


class ChannelError(PostCallError):
    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class ConfigError(PostCallError):
    pass
