"""What the server tells its operators: Prometheus metrics, request logs and optional tracing.

Each app owns a `CollectorRegistry`.  Request counters and latencies are kept in process; the
domain figures (live conversations, ends by reason, runs by status, step latency, queue depth,
oldest pending run) are read from the store and the executor at scrape time, so every server
process sharing a database reports the same numbers and nothing drifts after a restart.

Every request is logged once as a JSON line through `postcall.logging` (event `http_request` with
method, route template, status, duration); no header, cookie, query value or raw path is logged.  With
`POSTCALL_OTEL=1` and the `opentelemetry` package installed (`pip install postcall[otel]`), each
request also becomes a server span.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postcall.logging import get_logger

if TYPE_CHECKING:
    from postcall.server.app import ServerRuntime

access_log = get_logger("postcall.server.access")
error_log = get_logger("postcall.server")

OTEL_ENV = "POSTCALL_OTEL"


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/runs/{run_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = str(scope.get("path", ""))
    if raw.startswith("/console/static/"):
        return "/console/static/{file}"
    return "<unmatched>"


class HttpMetrics:
    """Request counters and latencies for one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "postcall_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "postcall_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )


def _load_tracer() -> Any:
    """An OpenTelemetry tracer when enabled and installed, else None."""
    if os.environ.get(OTEL_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    try:
        trace = importlib.import_module("opentelemetry.trace")
    except ImportError:
        error_log.warning("otel_unavailable", detail=f"{OTEL_ENV} is set but opentelemetry is not installed; tracing is off.")
        return None
    return trace.get_tracer("postcall.server")


def _otel_context(scope: Scope) -> Any:
    try:
        propagate = importlib.import_module("opentelemetry.propagate")
    except ImportError:
        return None
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return propagate.extract(carrier)


ERROR_BODY = b'{"detail":"Internal server error."}'


class RequestObservabilityMiddleware:
    """Times, counts and logs every request; turns an escaped exception into a clean 500."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        clock: Callable[[], float] = time.perf_counter,
        tracer: Any = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock
        self.tracer = tracer if tracer is not None else _load_tracer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 500
        response_started = False

        async def observed_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        span_cm = None
        if self.tracer is not None:
            span_cm = self.tracer.start_as_current_span(
                f"{scope.get('method', 'GET')} {scope.get('path', '')}",
                context=_otel_context(scope),
                kind=importlib.import_module("opentelemetry.trace").SpanKind.SERVER,
            )
        span = span_cm.__enter__() if span_cm is not None else None
        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            error_log.exception(
                "http_unhandled_error", method=scope.get("method"), route=route_template(scope)
            )
            if response_started:
                raise
            status = 500
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(ERROR_BODY)).encode()),
            ]})
            await send({"type": "http.response.body", "body": ERROR_BODY})
        finally:
            elapsed = self.clock() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if span is not None:
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                span.update_name(f"{method} {route}")
            if span_cm is not None:
                span_cm.__exit__(None, None, None)
            access_log.info(
                "http_request", method=method, route=route, status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


class DomainCollector:
    """Figures read from the store at scrape time (see the module docstring)."""

    def __init__(self, runtime: ServerRuntime, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.runtime = runtime
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def describe(self) -> list[Metric]:
        return []  # no fixed description: families are built on every scrape

    def collect(self) -> Iterator[Metric]:
        # Imported here: stats pulls in SQLAlchemy and the store, which the request metrics do not need.
        from postcall.server.api import stats

        store = self.runtime.store
        live = GaugeMetricFamily(
            "postcall_live_conversations", "Conversations in progress (started, not yet ended)."
        )
        live.add_metric([], float(self.runtime.live_conversations()))
        yield live

        ends = CounterMetricFamily(
            "postcall_conversation_ends",
            "Conversations ended, by System.Conversation.EndReason (all time).",
            labels=["reason"],
        )
        for reason, n in sorted(stats.ends_by_reason(store).items()):
            ends.add_metric([reason or "NONE"], float(n))
        yield ends

        model = CounterMetricFamily(
            "postcall_model_attempts",
            "Model endpoint attempts made by this process, by outcome (ok, timeout, http_status, "
            "refusal, bad_response, refused_host, no_model, ...).",
            labels=["outcome"],
        )
        # read only if a model call loaded the module: a scrape does not import the openai SDK
        attempts = getattr(sys.modules.get("postcall.actions.model"), "ATTEMPTS", {})
        for outcome, n in sorted(dict(attempts).items()):
            model.add_metric([outcome], float(n))
        yield model

        runs = GaugeMetricFamily(
            "postcall_runs", "Post-call runs by current status.", labels=["status"]
        )
        counts = store.count_runs()
        for status in ("pending", "running", "succeeded", "failed"):
            runs.add_metric([status], float(counts.get(status, 0)))
        yield runs

        queue = stats.queue_stats(store, self.clock())
        depth = GaugeMetricFamily("postcall_queue_depth", "Post-call runs waiting for a worker.")
        depth.add_metric([], float(queue.depth))
        yield depth
        age = GaugeMetricFamily(
            "postcall_oldest_pending_run_age_seconds",
            "Seconds since the oldest waiting run was enqueued or redriven (0 when none waits).",
        )
        age.add_metric([], queue.oldest_pending_age_s)
        yield age

        failures = CounterMetricFamily(
            "postcall_watchdog_failures",
            "Times the watchdog failed to act on a live conversation (this process, since start).",
        )
        failures.add_metric([], float(self.runtime.watchdog_failure_count()))
        yield failures
        failing = GaugeMetricFamily(
            "postcall_watchdog_failing_conversations",
            "Live conversations the watchdog is failing on now (retried with backoff).",
        )
        failing.add_metric([], float(len(self.runtime.watchdog_failures())))
        yield failing
        workers = GaugeMetricFamily(
            "postcall_live_executors", "Executor processes with a fresh heartbeat."
        )
        workers.add_metric([], float(stats.live_workers(store)))
        yield workers

        latency = HistogramMetricFamily(
            "postcall_step_duration_seconds",
            "Duration of post-call step attempts, by action kind (http, flow, log).",
            labels=["kind"],
        )
        for hist in stats.step_latency(store):
            latency.add_metric(
                [hist.kind],
                [(_le(bound), float(n)) for bound, n in hist.buckets],
                hist.sum_seconds,
            )
        yield latency


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def build_registry(runtime: ServerRuntime) -> tuple[CollectorRegistry, HttpMetrics]:
    """A fresh registry for one app: request metrics plus the store's figures."""
    registry = CollectorRegistry(auto_describe=False)
    http = HttpMetrics(registry)
    registry.register(DomainCollector(runtime))
    return registry, http


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus text format, with its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
