"""One OpenTelemetry trace per call: webhook turns, in-call actions and post-call steps, in any process.

A call's webhooks reach whichever `serve` the proxy picks, and its post-call steps run in a
worker process, later; no request carries a trace context from one to the next.  So the trace
is named by the call itself: its trace id and the id of its (never exported) parent span are
derived from the conversation id, and every span about the call, in whichever process, starts
under that parent.  A tracing backend then shows one trace per call, with a span per turn
(`postcall.turn`), per in-call action (`postcall.action`), per post-call run and step
(`postcall.run`, `postcall.step`), each with `postcall.conversation_id` and, once known,
`postcall.end_reason`.

Off unless `POSTCALL_OTEL=1` and the `opentelemetry` package is installed (the `otel` extra);
then the globally configured tracer provider is used.  Nothing is imported when off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

OTEL_ENV = "POSTCALL_OTEL"
CONVERSATION_ID = "postcall.conversation_id"
END_REASON = "postcall.end_reason"
_ON = ("1", "true", "yes", "on")

_provider: Any = None  # a tracer provider given by use_provider (tests), else the global one


def enabled() -> bool:
    return os.environ.get(OTEL_ENV, "").strip().lower() in _ON


def use_provider(provider: Any) -> None:
    """Send spans to `provider` instead of the global tracer provider (None: back to the global one)."""
    global _provider
    _provider = provider


def _tracer() -> Any:
    if not enabled():
        return None
    try:
        trace = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return None
    provider = _provider if _provider is not None else trace.get_tracer_provider()
    return provider.get_tracer("postcall")


def call_ids(conversation_id: str) -> tuple[int, int]:
    """The trace id and parent span id of a call: the same in every process, never zero."""
    digest = hashlib.sha256(b"postcall-call:" + conversation_id.encode("utf-8")).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return trace_id, span_id


def _parent(trace: Any, conversation_id: str) -> Any:
    """The current span when it belongs to this call's trace, else the call's own parent."""
    trace_id, span_id = call_ids(conversation_id)
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id == trace_id:
        return None  # nest under the current span (a turn's action, a run's step)
    parent = trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


@contextlib.contextmanager
def call_span(name: str, conversation_id: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A span of the call's trace (None when tracing is off); exceptions are recorded and re-raised."""
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    trace = importlib.import_module("opentelemetry.trace")
    attrs = {CONVERSATION_ID: conversation_id, **{k: v for k, v in (attributes or {}).items() if v is not None}}
    links = []
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id != call_ids(conversation_id)[0]:
        links.append(trace.Link(current))  # the HTTP request's own span, when there is one
    with tracer.start_as_current_span(name, context=_parent(trace, conversation_id), attributes=attrs, links=links) as span:
        yield span


def set_attributes(span: Any, **attributes: Any) -> None:
    """Set attributes on a span from `call_span` (no-op for None and None values)."""
    if span is not None:
        for key, value in attributes.items():
            if value is not None:
                span.set_attribute(key, value)
