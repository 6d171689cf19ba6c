"""`/api/topics`, `/api/summary`, `/healthz`, `/readyz` and `/metrics` on the real store and example agent."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from postcall.store import RunSpec, Store
from server.world import record_call


def test_topics_show_triggers_conditions_and_post_call_flag(client: TestClient) -> None:
    body = client.get("/api/topics").json()
    assert body["agent"] == "Contoso Support"
    by_name = {t["name"]: t for t in body["topics"]}
    crm = by_name["Post-call CRM update"]
    assert crm["post_call"] is True
    assert crm["trigger"]["kind"] == "OnActivity"
    assert crm["trigger"]["activity_type"] == "EndOfConversation"
    assert crm["trigger"]["condition"]  # the example's post-call condition, as written
    assert crm["node_count"] > 0
    greeting = by_name["Greeting"]
    assert greeting["post_call"] is False
    assert isinstance(body["diagnostics"], list)


def test_topic_diagnostics_are_attached_to_their_topic(client: TestClient, runtime: object) -> None:
    from postcall.diagnostics import Diagnostic, Severity, SourceSpan

    agent = runtime.agent  # type: ignore[attr-defined]
    topic = agent.topics["Greeting"]
    runtime.diagnostics = [  # type: ignore[attr-defined]
        Diagnostic("TPC299", Severity.WARNING, "Something odd.", SourceSpan(topic.path, 3, 5)),
        Diagnostic("YML101", Severity.ERROR, "Elsewhere.", SourceSpan("agent.yaml", 1, 1)),
    ]
    body = client.get("/api/topics").json()
    greeting = next(t for t in body["topics"] if t["name"] == "Greeting")
    assert [(d["code"], d["line"], d["column"]) for d in greeting["diagnostics"]] == [("TPC299", 3, 5)]
    assert [d["code"] for d in body["diagnostics"]] == ["TPC299", "YML101"]


def test_summary_counts_ends_and_runs_in_the_window(client: TestClient, store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    record_call(store, "CA1", started=now - dt.timedelta(hours=1), end_reason="CUSTOMER_HANGUP",
                runs=[RunSpec(topic="T", program="scripted", input={})])
    record_call(store, "CA2", started=now - dt.timedelta(hours=2), end_reason="CUSTOMER_HANGUP")
    record_call(store, "CA3", started=now - dt.timedelta(days=3), end_reason="AGENT_HANGUP")
    record_call(store, "CA4", started=now - dt.timedelta(minutes=1), end_reason=None)
    day = client.get("/api/summary").json()
    assert day["window"] == "24h"
    assert day["ended_in_window"] == 2
    assert day["ends_by_reason"] == {"CUSTOMER_HANGUP": 2}
    assert sum(sum(b["counts"].values()) for b in day["buckets"]) == 2
    assert len(day["buckets"]) == 24
    assert day["live_conversations"] == 1
    assert day["queue_depth"] == 1 and day["oldest_pending_age_seconds"] >= 0
    assert day["run_counts"]["pending"] == 1
    assert day["success_rate"] is None  # nothing finished
    week = client.get("/api/summary", params={"window": "7d"}).json()
    assert week["ends_by_reason"] == {"CUSTOMER_HANGUP": 2, "AGENT_HANGUP": 1}
    bad = client.get("/api/summary", params={"window": "1y"})
    assert bad.status_code == 422 and "query parameter 'window'" in bad.json()["detail"]


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    # A database but no executor has beaten: not ready, and the answer says why.
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["executor"]["ok"] is False
    assert "heartbeat" in body["checks"]["executor"]["detail"]


def test_readyz_is_ready_with_a_fresh_executor_heartbeat(client: TestClient, store: Store) -> None:
    store.register_worker(executor_id="w1", hostname="h", pid=1, process_start=None, agent=None,
                          app_version="v", queue_name="q", concurrency=1)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    store.set_worker_state("w1", "stopped")
    assert client.get("/readyz").status_code == 503


def test_readyz_is_not_ready_when_the_database_is_gone(client: TestClient, store: Store) -> None:
    store.engine.dispose()
    store.engine.pool._creator = lambda: (_ for _ in ()).throw(OSError("gone"))  # type: ignore[attr-defined]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == {"ok": False, "detail": "The database does not answer (OSError)."}


def _metrics(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_report_conversations_runs_queue_and_requests(client: TestClient, store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    record_call(store, "CA1", started=now - dt.timedelta(minutes=5), end_reason="CUSTOMER_HANGUP",
                runs=[RunSpec(topic="T", program="scripted", input={})])
    record_call(store, "CA2", started=now - dt.timedelta(minutes=4), end_reason="BLIND_TRANSFER")
    record_call(store, "CA3", started=now - dt.timedelta(minutes=1), end_reason=None)
    client.get("/api/conversations")
    m = _metrics(client)
    assert m["postcall_live_conversations"][()] == 1
    assert m["postcall_conversation_ends_total"][(("reason", "CUSTOMER_HANGUP"),)] == 1
    assert m["postcall_conversation_ends_total"][(("reason", "BLIND_TRANSFER"),)] == 1
    assert m["postcall_runs"][(("status", "pending"),)] == 1
    assert m["postcall_runs"][(("status", "failed"),)] == 0
    assert m["postcall_queue_depth"][()] == 1
    assert m["postcall_oldest_pending_run_age_seconds"][()] >= 0
    assert m["postcall_live_executors"][()] == 0
    key = (("method", "GET"), ("route", "/api/conversations"), ("status", "200"))
    assert m["postcall_http_requests_total"][key] == 1
    assert (("method", "GET"), ("route", "/api/conversations"))  in m["postcall_http_request_duration_seconds_count"]


def test_step_latency_histogram_is_built_from_recorded_attempts(client: TestClient, store: Store) -> None:
    from postcall.store import RunStepRecord

    record_call(store, "CA1", runs=[RunSpec(topic="T", program="scripted", input={})])
    for attempt, ms in enumerate((20.0, 300.0, 4000.0), start=1):
        store.record_step(RunStepRecord(
            run_id="postcall:CA1:T", step=1, node_id="n", kind="http", idempotency_key="CA1:T:n",
            attempt=attempt, ok=attempt == 3, request={}, response=None, error=None, error_category=None,
            retry_in_s=None, duration_ms=ms, executor_id=None, at=dt.datetime.now(dt.UTC)))
    m = _metrics(client)
    buckets = m["postcall_step_duration_seconds_bucket"]
    assert buckets[(("kind", "http"), ("le", "0.025"))] == 1
    assert buckets[(("kind", "http"), ("le", "0.5"))] == 2
    assert buckets[(("kind", "http"), ("le", "5.0"))] == 3
    assert buckets[(("kind", "http"), ("le", "+Inf"))] == 3
    assert m["postcall_step_duration_seconds_count"][(("kind", "http"),)] == 3
    assert abs(m["postcall_step_duration_seconds_sum"][(("kind", "http"),)] - 4.32) < 1e-9


def test_each_app_has_its_own_registry(app: object, runtime: object, monkeypatch: object) -> None:
    from postcall.server.app import create_app

    other = create_app(runtime)  # type: ignore[arg-type]
    assert other.state.registry is not app.state.registry  # type: ignore[attr-defined]
