"""One trace per call: webhook turns, the in-call CRM lookup and the post-call steps, against an in-memory exporter.

A real call on the example agent (signed call-events webhooks into the app, the example CRM
over HTTP), then its post-call runs executed by a DBOS executor as a worker runs them.  Every
span about the call carries its conversation id and lands in the one trace derived from it
(the same id in any process: the worker does not need the server's context).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from crm.launcher import CrmProcess
from postcall import tracing
from postcall.channels.events import EventsChannel, signature_headers
from postcall.durable import Executor, ExecutorConfig
from postcall.lifecycle.programs import ENV_OVERRIDES_VAR
from postcall.lifecycle.runtime import open_runtime
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.server.webhooks import channel_router

REPO = Path(__file__).resolve().parents[2]
SECRET = "tracing-events-secret"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setenv(tracing.OTEL_ENV, "1")
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


def _post(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signature_headers(SECRET, body, int(dt.datetime.now(dt.UTC).timestamp()))}
    response = client.post("/channels/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def test_a_call_is_one_trace_from_the_first_webhook_to_the_last_post_call_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    agent = tmp_path / "agent"
    shutil.copytree(REPO / "examples" / "contoso-support", agent, ignore=shutil.ignore_patterns(".postcall"))
    url = f"sqlite:///{tmp_path / 'postcall.db'}"
    monkeypatch.setenv(TOKEN_ENV, "tracing-admin-token-0123456789")
    with CrmProcess(tmp_path / "crm.db") as crm:
        monkeypatch.setenv(ENV_OVERRIDES_VAR, json.dumps({"crm_BaseUrl": crm.url}))
        runtime = open_runtime(agent, database_url=url, env_overrides={"crm_BaseUrl": crm.url})
        runtime.channel_router = channel_router(runtime.sessions, twilio=None, events=EventsChannel(SECRET))
        cid = "CA-traced-0001"
        now = dt.datetime.now(dt.UTC).isoformat()
        try:
            with TestClient(create_app(runtime)) as client:
                _post(client, {"type": "call.started", "conversation_id": cid, "sequence": 1, "timestamp": now, "caller": "+15550001111"})
                _post(client, {"type": "caller.said", "conversation_id": cid, "sequence": 2, "timestamp": now, "text": "case status"})
                looked_up = _post(client, {"type": "caller.dtmf", "conversation_id": cid, "sequence": 3, "timestamp": now, "digits": "1001#"})
                assert any("Case 1001" in a.get("text", "") for a in looked_up["actions"])
                ended = _post(client, {"type": "call.ended", "conversation_id": cid, "sequence": 4, "timestamp": now,
                                       "initiator": "caller", "raw_reason": "hangup"})
                assert ended["ended"] and ended["end_reason"] == "CUSTOMER_HANGUP"
            with Executor(ExecutorConfig(database_url=url, agent=str(agent)), runtime.programs, store=runtime.store) as executor:
                runs = [r.id for r in runtime.store.list_runs(conversation_id=cid)]
                assert set(executor.wait_for_runs(runs).values()) == {"succeeded"}
        finally:
            runtime.close()

    finished: tuple[ReadableSpan, ...] = spans.get_finished_spans()
    trace_id, parent_id = tracing.call_ids(cid)
    mine = [s for s in finished if s.attributes and s.attributes.get(tracing.CONVERSATION_ID) == cid]
    assert mine and all(s.context is not None and s.context.trace_id == trace_id for s in mine)  # one trace
    names = [s.name for s in mine]
    assert names.count("postcall.turn") == 4
    assert names.count("postcall.action") >= 1  # the in-call CRM lookup
    assert names.count("postcall.run") == 2 and names.count("postcall.step") >= 2
    the_end = [s for s in mine if s.name == "postcall.turn" and s.attributes and s.attributes.get(tracing.END_REASON)]
    assert [s.attributes[tracing.END_REASON] for s in the_end if s.attributes] == ["CUSTOMER_HANGUP"]
    lookup = next(s for s in mine if s.name == "postcall.action")
    assert lookup.attributes is not None and lookup.attributes["postcall.kind"] == "http" and lookup.attributes["postcall.ok"] is True
    turn_ids = {s.context.span_id for s in mine if s.name == "postcall.turn" and s.context is not None}
    assert lookup.parent is not None and lookup.parent.span_id in turn_ids  # inside the turn that asked for it
    run_ids = {s.context.span_id for s in mine if s.name == "postcall.run" and s.context is not None}
    for step in (s for s in mine if s.name == "postcall.step"):
        assert step.parent is not None and step.parent.span_id in run_ids | {parent_id}
    assert any(s.parent is not None and s.parent.span_id in run_ids for s in mine if s.name == "postcall.step")


def test_the_trace_of_a_call_is_named_by_the_call_alone() -> None:
    assert tracing.call_ids("CA1") == tracing.call_ids("CA1") != tracing.call_ids("CA2")
    assert all(part != 0 for part in tracing.call_ids(""))


def test_nothing_is_traced_without_postcall_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracing.OTEL_ENV, raising=False)
    with tracing.call_span("postcall.turn", "CA1") as span:
        assert span is None
