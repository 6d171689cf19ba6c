"""Structured JSON logs: one line per event, carrying conversation, run, topic, node and attempt, secrets masked.

Call `configure_logging()` once per process (the CLI and the worker do).  Code logs with
`get_logger(__name__).info("event_name", key=value)`; context bound with `bind_log_context`
(a contextvar, so it follows asyncio tasks and is cleared with `clear_log_context`) is merged
into every line.  Values under secret-looking keys are replaced by "[redacted]" before the
line is rendered, so a careless `log.info("sent", headers=headers)` still leaks nothing.
"""

from __future__ import annotations

import logging as _stdlib_logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from postcall.redaction import redact_json, redact_text, redact_url

# Keys every post-call log line may carry; documented in docs/durable-actions.md.
CONTEXT_KEYS = ("conversation_id", "run_id", "topic", "node", "attempt", "executor_id")

_configured = False


def _redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event.keys()):
        if key in ("event", "level", "timestamp", "logger"):
            continue
        value = event[key]
        if key == "url" and isinstance(value, str):
            event[key] = redact_url(value)
        else:
            event[key] = redact_json({key: value})[key]
    return event


def _redact_exception(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # a traceback is text rendered after `_redact_event`: its messages may quote a secret
    exc = event.get("exception")
    if isinstance(exc, str):
        event["exception"] = redact_text(exc)
    return event


def configure_logging(*, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send JSON log lines at `level` or above to `stream` (stderr by default)."""
    global _configured
    numeric = _stdlib_logging.getLevelNamesMapping().get(level.upper(), _stdlib_logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_event,
            structlog.processors.format_exc_info,
            _redact_exception,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; JSON lines once `configure_logging` ran, structlog's defaults before."""
    if not _configured and not structlog.is_configured():
        configure_logging(level="WARNING")
    return structlog.get_logger(name) if name else structlog.get_logger()


def bind_log_context(**values: Any) -> None:
    """Attach `values` to every line logged from this context (task or thread) from now on."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def unbind_log_context(*keys: str) -> None:
    structlog.contextvars.unbind_contextvars(*keys)


def clear_log_context() -> None:
    structlog.contextvars.clear_contextvars()
