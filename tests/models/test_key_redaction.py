"""The model API key is never stored or shown, even when the endpoint echoes it back.

A real OpenAI-protocol server on 127.0.0.1 answers every request 401 with the caller's key in the
error text (bare and as the Authorization header), as some proxies and gateways do.  The key must
appear in none of: the API's runs and conversations, the database file's bytes (WAL included),
the structured log and DBOS's own log lines (tracebacks included), `postcall call`/`chat` output.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from postcall.channels.base import end_of_conversation_activity, message_activity
from postcall.cli.main import cli
from postcall.clock import FixedClock
from postcall.devtools.openai_server import OpenAIServer
from postcall.durable import Executor, ExecutorConfig
from postcall.engine.activity import Initiator
from postcall.lifecycle.runtime import open_runtime
from postcall.logging import configure_logging
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-ECHOED-secret-7f3a9c"
ADMIN = "test-admin-token-0123456789abcdef"
START = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
TOPIC = "Post-call analysis"


class EchoingServer(OpenAIServer):
    """Answers every chat completion 401 and quotes the key it was sent."""

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        auth = headers.get("authorization", "")
        with self._lock:
            self.headers.append(headers)
        return self._error(401, f"Incorrect API key provided: {auth.removeprefix('Bearer ')} (Authorization: {auth}).")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EchoingServer]:
    with EchoingServer(api_key=None) as s:
        monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", s.base_url)
        monkeypatch.setenv("POSTCALL_MODEL_API_KEY", KEY)
        yield s


def test_the_server_really_echoes_the_key(server: EchoingServer) -> None:
    """Guards the test itself: without the redaction the key would be in the error text."""
    status, _, body = server.answer("/v1/chat/completions", {"authorization": f"Bearer {KEY}"}, b"{}")
    assert status == 401 and KEY.encode() in body


def test_an_echoed_key_is_in_no_api_answer_database_byte_or_log_line(
    tmp_path: Path, server: EchoingServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    log = io.StringIO()
    configure_logging(level="DEBUG", stream=log)
    caplog.set_level(logging.DEBUG)
    agent = tmp_path / "contoso-analysis"
    shutil.copytree(REPO / "examples" / "contoso-analysis", agent, ignore=shutil.ignore_patterns(".postcall"))
    db = tmp_path / "postcall.sqlite"
    rt = open_runtime(agent, database_url=f"sqlite:///{db}", env_overrides={"crm_BaseUrl": "http://127.0.0.1:9"},
                      clock=FixedClock(START))
    cid = "CA-echo"
    run_id = f"postcall:{cid}:{TOPIC}"
    try:
        asyncio.run(rt.sessions.start(cid, channel="twilio", caller="+15550100111", event_id=f"{cid}:0"))
        for n, text in enumerate(["when do you open on saturday", "my heating is broken"], start=1):
            activity = message_activity(f"{cid}:{n}", START + dt.timedelta(seconds=n), channel_id="twilio", text=text)
            asyncio.run(rt.sessions.handle(cid, activity, event_id=f"{cid}:{n}"))
        end = end_of_conversation_activity(f"{cid}:end", START + dt.timedelta(seconds=9), Initiator.CALLER, "completed",
                                           channel_id="twilio")
        assert asyncio.run(rt.sessions.handle(cid, end, event_id=f"{cid}:end")).ended
        config = ExecutorConfig(database_url=rt.settings.database_url, polling_interval_s=0.02,
                                heartbeat_interval_s=0.5, stale_after_s=5)
        with Executor(config, rt.programs, store=rt.store) as executor:
            assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "failed"}
        assert server.headers and all(h["authorization"] == f"Bearer {KEY}" for h in server.headers)  # it was sent
        run = rt.store.get_run(run_id)
        assert run is not None and run.error and "401" in run.error and "Incorrect API key" in run.error
        monkeypatch.setenv(TOKEN_ENV, ADMIN)
        with TestClient(create_app(rt), headers={"Authorization": f"Bearer {ADMIN}"}) as client:
            shown = [client.get("/api/runs").text, client.get(f"/api/runs/{run_id}").text,
                     client.get(f"/api/conversations/{cid}").text]
        assert "Incorrect API key" in shown[1]
        for text in shown:
            assert KEY not in text
    finally:
        rt.close()
    for path in tmp_path.glob("postcall.sqlite*"):
        assert KEY.encode() not in path.read_bytes(), path.name
    assert "run_finished" in log.getvalue()
    assert KEY not in log.getvalue()
    assert KEY not in caplog.text


def test_an_echoed_key_is_not_in_call_or_chat_output(server: EchoingServer, tmp_path: Path) -> None:
    agent = tmp_path / "contoso-analysis"
    shutil.copytree(REPO / "examples" / "contoso-analysis", agent, ignore=shutil.ignore_patterns(".postcall"))
    runner = CliRunner()
    called = runner.invoke(cli, ["call", str(agent), "--say", "when do you open on saturday",
                                 "--say", "my heating is broken", "--hang-up", "--env", "crm_BaseUrl=http://127.0.0.1:9"])
    assert "post-call" in called.output and "401" in called.output, called.output
    chatted = runner.invoke(cli, ["chat", str(agent), "--explain", "--env", "crm_BaseUrl=http://127.0.0.1:9"],
                            input="when do you open on saturday\n/hangup\n")
    assert len(server.headers) >= 3
    for out in (called.output, chatted.output):
        assert KEY not in out
