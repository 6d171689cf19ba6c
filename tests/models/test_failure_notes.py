"""A failed model call leaves a note in the conversation's history: what failed (status or kind),
how many tries, how long; then the node's no-answer or error path and a metric.  The failures are
played by a real OpenAI-protocol server on 127.0.0.1: 429, 500, a malformed body, an answer
slower than the budget, a refusal.  The note never holds the key or the caller's words."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from postcall.actions import model
from postcall.channels.base import message_activity
from postcall.cli.conversation import print_report
from postcall.clock import FixedClock
from postcall.devtools.openai_server import OpenAIServer, Scripted
from postcall.lifecycle.runtime import open_runtime
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.testing import Conversation

KB = Path(__file__).resolve().parent / "agents" / "kb"
FALLBACK = "I'm sorry, I didn't get that. Try asking about our hours or returns."
QUESTION = "what are your opening hours on saturdays"
KEY = "sk-note-secret"
ADMIN = "test-admin-token-0123456789abcdef"


def _agent(tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, model_yaml: str = "") -> Path:
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL", "local-model")
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", KEY)
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    if model_yaml:
        with (root / "agent.yaml").open("a", encoding="utf-8") as f:
            f.write(model_yaml)
    return root


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    # every error quotes the key it was sent, so "KEY not in note" below can fail
    with OpenAIServer(api_key=KEY, echo_key=True) as s:
        yield s


def test_the_server_really_echoes_the_key_in_its_errors(server: OpenAIServer) -> None:
    server.script.append(Scripted(status=500))
    status, _, body = server.answer("/v1/chat/completions", {"authorization": f"Bearer {KEY}"},
                                    b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
    assert status == 500 and KEY.encode() in body


def _notes(conv: Conversation) -> list[str]:
    return [line.text for line in conv.transcript if line.who == "system" and line.text.startswith("[note:")]


@pytest.mark.parametrize(
    ("script", "category", "expected"),
    [
        ([Scripted(status=429, headers={"Retry-After": "1"})] * 3, "http_status", r"HTTP 429 after 3 tries in \d+\.\d s"),
        ([Scripted(status=500)] * 3, "http_status", r"HTTP 500 after 3 tries in \d+\.\d s"),
        ([Scripted(raw_body="{\"id\": \"chatcmpl-1\", \"choices\": [")] * 3, "bad_response",
         r"malformed answer after 3 tries in \d+\.\d s"),
        ([Scripted(refusal="I can't help with that request about saturdays.")], "refusal",
         r"the model refused after 1 try in \d+\.\d s"),
    ],
    ids=["429", "500", "malformed", "refusal"],
)
def test_a_failed_model_call_is_noted_then_the_no_answer_path(
    tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch,
    script: list[Scripted], category: str, expected: str,
) -> None:
    server.script.extend(script)
    before = model.ATTEMPTS[category]
    with Conversation(_agent(tmp_path, server, monkeypatch), conversation_id="note-1") as conv:
        conv.start()
        assert conv.say(QUESTION) == [FALLBACK]
        (note,) = _notes(conv)
    assert re.fullmatch(rf"\[note: Model call failed: {expected}; no answer given\.\]", note), note
    assert QUESTION not in note and "saturdays" not in note and KEY not in note
    assert len(server.requests) == len(script)
    assert model.ATTEMPTS[category] == before + len(script)  # postcall_model_attempts_total{outcome=...}


def test_an_endpoint_slower_than_its_timeout_is_noted_and_the_fallback_answers(
    tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = "model:\n  base_url: http://127.0.0.1:1/v1\n  model: x\n  timeout_seconds: 0.3\n  budget_seconds: 0.5\n"
    server.script.extend([Scripted(content="late", delay_s=2.0)] * 3)
    with Conversation(_agent(tmp_path, server, monkeypatch, slow), conversation_id="note-slow") as conv:
        conv.start()
        assert conv.say(QUESTION) == [FALLBACK]  # the 2 s answer ("late") was never waited for
        (note,) = _notes(conv)
    assert re.fullmatch(r"\[note: Model call failed: no answer in time after [123] tr(?:y|ies) in \d+\.\d s; no answer given\.\]", note), note
    # How many tries fit in the budget is not asserted here: the harness's clock moves only by
    # the waits between tries (full jitter, random), not by a try's real duration, so 1 to 3
    # tries are all correct.  The budget cutting the retries is tested on the wall clock in
    # tests/models/test_endpoint.py (test_a_slow_endpoint_is_cut_at_the_budget).


def test_a_failed_prompt_is_noted_then_its_error_path(tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.script.extend([Scripted(status=503)] * 3)
    with Conversation(_agent(tmp_path, server, monkeypatch), conversation_id="note-prompt") as conv:
        conv.start()
        assert conv.say("my heating is broken") == ["Error ModelCallFailed"]
        (note,) = _notes(conv)
    assert note == "[note: Model call failed: HTTP 503 after 3 tries in " + note.split(" in ")[1]
    assert note.endswith("; the prompt's error path.]") and "heating" not in note


def test_the_note_is_in_the_stored_history_the_api_and_the_console(
    tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script.extend([Scripted(status=429, headers={"Retry-After": "0"})] * 3)
    agent = _agent(tmp_path, server, monkeypatch)
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    rt = open_runtime(agent, database_url=f"sqlite:///{tmp_path / 'postcall.sqlite'}", clock=FixedClock(start))
    try:
        asyncio.run(rt.sessions.start("CA-note", channel="twilio", caller="+15550100111", event_id="CA-note:0"))
        activity = message_activity("CA-note:1", start, channel_id="twilio", text=QUESTION)
        outcome = asyncio.run(rt.sessions.handle("CA-note", activity, event_id="CA-note:1"))
        assert [o.text for o in outcome.outputs if type(o).__name__ == "Say"] == [FALLBACK]  # type: ignore[attr-defined]
        stored = [a for a in rt.store.history("CA-note") if a.type == "Note"]
        assert len(stored) == 1 and stored[0].activity["detail"]["kind"] == "http_status"
        assert stored[0].activity["detail"]["status"] == 429 and stored[0].activity["detail"]["tries"] == 3
        monkeypatch.setenv(TOKEN_ENV, ADMIN)
        with TestClient(create_app(rt), headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            body = client.get("/api/conversations/CA-note").json()
            notes = [e for e in body["transcript"] if e["kind"] == "note"]
            assert len(notes) == 1 and notes[0]["text"].startswith("Model call failed: HTTP 429 after 3 tries")
            kinds = [e["kind"] for e in body["transcript"]]
            assert kinds.index("note") < len(kinds) - 1 and kinds[kinds.index("note") + 1] == "agent"  # before the fallback
        with TestClient(create_app(rt), follow_redirects=False) as browser:
            login = browser.get("/console/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert csrf is not None
            assert browser.post("/console/login", data={"csrf_token": csrf.group(1), "token": ADMIN}).status_code == 303
            page = browser.get("/console/conversations/CA-note").text
            assert 'data-kind="note"' in page and "Model call failed: HTTP 429 after 3 tries" in page
            assert KEY not in page and KEY not in str(body)
    finally:
        rt.close()


def test_a_failed_analysis_after_the_call_is_noted_in_the_run(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", KEY)
    agent = Path(__file__).resolve().parents[2] / "examples" / "contoso-analysis"
    server.responder = lambda body: "We open at 10 am on Saturdays."
    with Conversation(agent, conversation_id="note-analysis", env={"crm_BaseUrl": "http://127.0.0.1:9"}) as conv:
        conv.start()
        conv.say("when do you open on saturday")
        # the analysis after the call fails: all of the run's attempts (agent.yaml retry: 5)
        server.script.extend([Scripted(status=500)] * 5)
        conv.hang_up()
        (run,) = [r for r in conv.post_call_runs if r.topic == "Post-call analysis"]
    assert [n["text"] for n in run.notes] == [run.notes[0]["text"]] and run.notes[0]["text"].startswith(
        "Model call failed: HTTP 500 after 5 tries in ")
    assert run.notes[0]["detail"]["kind"] == "http_status" and "saturday" not in run.notes[0]["text"]
    print_report(conv, transcript=False)  # what `postcall call` prints: the step is a model step
    printed = capsys.readouterr().out
    assert "    model prompt at prompt_CallAnalysis -> HTTP 500" in printed and "log None" not in printed


def test_an_endpoint_that_is_down_is_noted_as_unreachable(
    tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on any more
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agent = _agent(tmp_path, server, monkeypatch)
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", f"http://127.0.0.1:{port}/v1")
    before = model.ATTEMPTS["connection"]
    with Conversation(agent, conversation_id="note-down") as conv:
        conv.start()
        assert conv.say(QUESTION) == [FALLBACK]
        (note,) = _notes(conv)
    assert re.fullmatch(r"\[note: Model call failed: endpoint unreachable after 3 tries in \d+\.\d s; no answer given\.\]", note), note
    assert model.ATTEMPTS["connection"] == before + 3
