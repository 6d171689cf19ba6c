"""One action layer: what production refuses, `chat`, `call` and the test harness refuse too.

Each case runs a topic in the harness (`postcall.testing.Conversation`) and in `postcall chat`
or `postcall call`, and carries out the same request through `execute_action` with the agent's
settings, as a call on `postcall serve` and a post-call DBOS step do: the results must agree.
The cases are the ones the harness used to get wrong (it had its own HTTP code): a loopback
address reached without an allowed_hosts entry, a 3xx counted as success, the author's
Idempotency-Key header winning, no retry of a 503.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.execute import execute_action
from postcall.cli.main import cli
from postcall.lifecycle.programs import action_settings_for
from postcall.testing import Conversation, load
from postcall.testing.simulate import simulate


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: /redirect answers 302, /flaky a 503 with Retry-After once, /echo 200."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    flaky_left: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/flaky" and state.flaky_left > 0:
                state.flaky_left -= 1
                self.send_response(503)
                self.send_header("Retry-After", "7")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def topic(trigger: str, url: str, headers: str = "") -> str:
    return f"""kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - {trigger}
  actions:
    - kind: HttpRequestAction
      id: httpRequest_call
      url: {url}
{headers}      errorHandling:
        kind: ContinueOnErrorBehavior
        statusCode: Topic.S
        errorResponseBody: Topic.E
    - kind: SendActivity
      id: sendMessage_status
      activity: status {{Topic.S}} body {{Topic.E}}
"""


def write_agent(root: Path, base_url: str, *, allowed: list[str] | None) -> Path:
    (root / "topics").mkdir(parents=True)
    lines = ["name: One layer", "env:", f"  api: {base_url}"]
    if allowed is not None:
        lines += ["allowed_hosts:"] + [f"  - {h}" for h in allowed]
    (root / "agent.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    key_header = '      headers:\n        Idempotency-Key: "mine"\n'
    topics = {
        "Loopback": topic("call home", '=Env.api & "/echo"'),
        "Redirect": topic("follow me", '=Env.api & "/redirect"'),
        "Key": topic("my key", '=Env.api & "/echo"', key_header),
        "Flaky": topic("try again", '=Env.api & "/flaky"'),
    }
    for name, text in topics.items():
        (root / "topics" / f"{name}.topic.yaml").write_text(text, encoding="utf-8")
    return root


def production(agent_dir: Path, request: ActionRequest) -> ActionResult:
    """What `postcall serve` does with an in-call request (lifecycle.session): execute_action with the agent's settings."""
    agent = load(agent_dir)

    async def go() -> ActionResult:
        async def no_wait(seconds: float) -> None:
            pass

        async with httpx.AsyncClient(follow_redirects=False) as client:
            return await execute_action(request, action_settings_for(agent, request.topic), http_client=client, sleep=no_wait)

    return asyncio.run(go())


def harness(agent_dir: Path, text: str) -> tuple[list[str], ActionRequest, ActionResult, Conversation]:
    with Conversation(agent_dir, conversation_id="one-1") as conv:
        conv.start()
        replies = conv.say(text)
        (call,) = conv.action_calls
        return replies, call.request, call.result, conv


def same(a: ActionResult, b: ActionResult) -> None:
    assert (a.ok, a.status_code, a.error, a.error_category, a.attempts) == (
        b.ok, b.status_code, b.error, b.error_category, b.attempts
    )


def test_a_loopback_address_without_an_allowed_hosts_entry_is_refused_everywhere(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=None)  # default: public hosts only
    replies, request, result, _ = harness(agent_dir, "call home")
    assert (result.ok, result.error_category) == (False, "refused_host")
    assert "loopback address" in (result.error or "")
    assert replies == [f"status 0 body {result.error}"]
    same(result, production(agent_dir, request))
    assert receiver.seen == []  # nothing was sent, by either
    chat = CliRunner().invoke(cli, ["chat", str(agent_dir)], input="call home\n/hangup\n")
    assert chat.exit_code == 0, chat.output
    assert "loopback address, which needs an explicit allowed_hosts entry" in chat.output
    call = CliRunner().invoke(cli, ["call", str(agent_dir), "--say", "call home", "--hang-up", "--format", "json"])
    assert call.exit_code == 0, call.output
    assert any("loopback address" in line["text"] for line in json.loads(call.output)["transcript"])
    assert receiver.seen == []


def test_a_redirect_is_not_success_anywhere(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=["127.0.0.1"])
    replies, request, result, _ = harness(agent_dir, "follow me")
    assert (result.ok, result.status_code, result.error_category) == (False, 302, "http_status")
    assert replies[0].startswith("status 302 body ")
    same(result, production(agent_dir, request))
    chat = CliRunner().invoke(cli, ["chat", str(agent_dir)], input="follow me\n/hangup\n")
    assert "status 302 body" in chat.output


def test_the_runtime_idempotency_key_replaces_the_authors(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=["127.0.0.1"])
    _, request, result, _ = harness(agent_dir, "my key")
    assert result.ok
    assert receiver.seen[0]["headers"]["idempotency-key"] == request.idempotency_key == "one-1:Key:httpRequest_call"
    production(agent_dir, request)
    assert receiver.seen[1]["headers"]["idempotency-key"] == request.idempotency_key


def test_a_503_is_retried_after_retry_after_and_the_wait_moves_the_harness_clock(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=["127.0.0.1"])
    receiver.flaky_left = 1
    with Conversation(agent_dir, conversation_id="one-2") as conv:
        conv.start()
        before = conv.clock.now()
        conv.say("try again")
        (call,) = conv.action_calls
        assert (call.result.ok, call.result.attempts) == (True, 2)
        # one step of the caller (1 s) plus the server's Retry-After (7 s), and no wall-clock wait
        assert (conv.clock.now() - before).total_seconds() == 8
    receiver.flaky_left = 1
    same(call.result, production(agent_dir, call.request))
    assert [s["path"] for s in receiver.seen] == ["/flaky"] * 4


def test_simulate_refuses_the_host_production_refuses_and_sends_nothing(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=None)  # default: public hosts only
    _, request, result, _ = harness(agent_dir, "call home")
    assert (result.ok, result.error_category) == (False, "refused_host")
    same(result, production(agent_dir, request))
    report = simulate(agent_dir)
    (answered,) = [c for c in report.calls if c.topic == "Loopback" and c.scenario == "answer"]
    assert f"status 0 body {result.error}" in [line["text"] for line in answered.transcript]
    # with the host listed, the same topic's request passes the checks and gets the simulated success
    allowed_dir = write_agent(tmp_path / "allowed", receiver.url, allowed=["127.0.0.1"])
    (ok,) = [c for c in simulate(allowed_dir).calls if c.topic == "Loopback" and c.scenario == "answer"]
    assert any(line["text"].startswith("status 200 body") for line in ok.transcript)
    assert receiver.seen == []  # the simulation's transport answered: nothing reached the server


def test_a_harness_post_call_run_spends_the_run_budget_on_its_clock(tmp_path: Path, receiver: Receiver) -> None:
    agent_dir = write_agent(tmp_path / "agent", receiver.url, allowed=["127.0.0.1"])
    with (agent_dir / "agent.yaml").open("a", encoding="utf-8") as f:
        f.write("retry:\n  run_timeout_seconds: 10\n")
    ending = topic("unused", '=Env.api & "/flaky"').replace(
        "  kind: OnRecognizedIntent\n  id: main\n  intent:\n    triggerQueries:\n      - unused\n",
        "  kind: OnActivity\n  id: main\n  type: EndOfConversation\n",
    )
    (agent_dir / "topics" / "After.topic.yaml").write_text(ending, encoding="utf-8")
    receiver.flaky_left = 100  # a 503 with Retry-After: 7 every time
    with Conversation(agent_dir, conversation_id="one-3") as conv:
        conv.start()
        conv.hang_up()
        (run,) = conv.post_call_runs
        (result,) = run.results
    # attempt 1 at 0 s, wait 7 s, attempt 2 at 7 s; a third would start at 14 s, past the 10 s budget
    assert (result.ok, result.status_code, result.attempts) == (False, 503, 2)
    assert "no time left in the run budget for attempt 3" in (result.error or "")
    assert len(receiver.seen) == 2
