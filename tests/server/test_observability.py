"""Request logs as JSON lines without secrets, request spans with POSTCALL_OTEL=1, clean 500s for bugs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postcall.logging import configure_logging
from postcall.server import metrics as metrics_module
from postcall.server.metrics import HttpMetrics, RequestObservabilityMiddleware
from server.conftest import ADMIN_TOKEN


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="INFO", stream=stream)
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        configure_logging(level="WARNING")


def _events(stream: io.StringIO, event: str) -> list[dict[str, Any]]:
    return [d for d in (json.loads(line) for line in stream.getvalue().splitlines() if line.strip())
            if d.get("event") == event]


def test_each_request_is_one_json_line_with_the_route_template_and_no_secret(
    client: TestClient, log_lines: io.StringIO
) -> None:
    client.get("/api/conversations/CA-secret-id", params={"token": "leak-me"})
    lines = _events(log_lines, "http_request")
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET" and line["status"] == 404
    assert line["route"] == "/api/conversations/{conversation_id:path}"
    assert line["level"] == "info" and "timestamp" in line and line["duration_ms"] >= 0
    text = log_lines.getvalue()
    for secret in (ADMIN_TOKEN, "leak-me", "CA-secret-id"):
        assert secret not in text


def _app_that_breaks() -> Starlette:
    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("a genuine bug with a secret: sk-123")

    async def fine(request: Request) -> PlainTextResponse:
        return PlainTextResponse("fine")

    return Starlette(routes=[Route("/boom", boom), Route("/fine", fine)])


def test_a_genuine_bug_is_logged_and_answered_with_a_plain_500(app: FastAPI, log_lines: io.StringIO) -> None:
    async def boom() -> None:
        raise RuntimeError("a genuine bug with a secret: sk-123")

    app.add_api_route("/api/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert response.headers["x-frame-options"] == "DENY"  # security headers on the 500 as well
    assert "sk-123" not in response.text
    errors = _events(log_lines, "http_unhandled_error")
    assert len(errors) == 1 and errors[0]["route"] == "/api/boom"
    assert "RuntimeError" in errors[0]["exception"]
    assert app.state.registry.get_sample_value(
        "postcall_http_requests_total", {"method": "GET", "route": "/api/boom", "status": "500"}) == 1


class RecordingSpan(trace.NonRecordingSpan):
    def __init__(self, name: str, kind: trace.SpanKind) -> None:
        super().__init__(trace.INVALID_SPAN_CONTEXT)
        self.name, self.kind, self.attributes, self.ended = name, kind, {}, False

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def update_name(self, name: str) -> None:
        self.name = name

    def end(self, end_time: int | None = None) -> None:
        self.ended = True


class RecordingTracer(trace.Tracer):
    def __init__(self) -> None:
        self.spans: list[RecordingSpan] = []

    def start_span(self, name: str, context: Any = None, kind: trace.SpanKind = trace.SpanKind.INTERNAL,
                   *args: Any, **kwargs: Any) -> RecordingSpan:
        span = RecordingSpan(name, kind)
        self.spans.append(span)
        return span

    @contextmanager  # type: ignore[override]
    def start_as_current_span(self, name: str, context: Any = None,
                              kind: trace.SpanKind = trace.SpanKind.INTERNAL,
                              *args: Any, **kwargs: Any) -> Iterator[RecordingSpan]:
        span = self.start_span(name, context, kind)
        with trace.use_span(span, end_on_exit=True):
            yield span


def test_each_request_becomes_a_server_span_named_by_its_route(monkeypatch: pytest.MonkeyPatch) -> None:
    tracer = RecordingTracer()
    app = RequestObservabilityMiddleware(_app_that_breaks(), metrics=HttpMetrics(CollectorRegistry()),
                                         tracer=tracer)
    with TestClient(app) as c:  # type: ignore[arg-type]
        assert c.get("/fine", headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}).text == "fine"
    [span] = tracer.spans
    assert span.name == "GET /fine" and span.kind == trace.SpanKind.SERVER and span.ended
    assert span.attributes == {"http.request.method": "GET", "http.route": "/fine",
                               "http.response.status_code": 200}


def test_tracing_is_on_only_with_postcall_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTCALL_OTEL", raising=False)
    assert metrics_module._load_tracer() is None
    monkeypatch.setenv("POSTCALL_OTEL", "1")
    assert metrics_module._load_tracer() is not None
    monkeypatch.setenv("POSTCALL_OTEL", "0")
    assert metrics_module._load_tracer() is None
