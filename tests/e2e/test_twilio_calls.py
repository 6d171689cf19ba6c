"""Calls through Twilio's webhook protocol against `postcall serve`, the example agent and its CRM.

One server for the module (`postcall serve --with-example-crm`, the agent's TransferToAgent going
to a TaskRouter workflow with <Enqueue>); every scenario of data/scenarios.yaml is a call with
its own CallSid and its own case.  Each checks the end reason and the post-call runs through the
admin API, and the case and the deliveries in the CRM.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.scenarios import SCENARIOS, Scenario, check_outcome, play_twilio
from e2e.server import ServeProcess

pytestmark = pytest.mark.slow

AGENT_SETTINGS = {
    "channels": {"twilio": {"transfer_to_agent": {
        "mode": "enqueue", "workflow_sid": "WW0123456789abcdef0123456789abcdef", "target": None}}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ServeProcess(Path(tmp_path_factory.mktemp("serve-twilio")), agent_settings=AGENT_SETTINGS) as process:
        yield process


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as client:
        yield client


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_twilio_call(server: ServeProcess, http: httpx.Client, scenario: Scenario) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    played = play_twilio(server, scenario, call_sid, http)
    for text in scenario.agent_says:
        assert any(text in line for line in played.transcript), f"agent never said {text!r}: {played.transcript}"
    detail = check_outcome(server, call_sid, case=scenario.case, end_reason=scenario.end_reason,
                           topics=scenario.topics, transfer=scenario.transfer)
    assert detail["channel"] == "twilio"
    assert detail["caller"] == "+15005550006"


def test_the_server_logged_no_errors(server: ServeProcess) -> None:
    """After every scenario: nothing in the server's log is an unhandled error or a 500."""
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"status": 500' not in log
    assert "Traceback" not in log, server.log_tail(80)
    for route in ("voice", "gather", "status", "dial", "enqueue-wait"):  # the request log names each route
        assert f'"route": "/channels/twilio/{route}"' in log
    for secret in (server.twilio_token, server.events_secret, server.admin_token):
        assert secret not in log  # never logged
