"""The same calls through the signed call-events webhook (`CallEventsClient`), as a bridge makes them.

One server for the module, against a CRM started here (not by serve), with the agent's
TransferToAgent configured as a <Dial> to the contact centre's SIP address: the module also
places one Twilio escalation through that Dial.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.launcher import CrmProcess
from e2e.scenarios import SCENARIOS, Scenario, check_outcome, play_events, play_twilio
from e2e.server import ServeProcess
from postcall.devtools.events_client import CallEventsClient

pytestmark = pytest.mark.slow

AGENT_SETTINGS = {
    "channels": {"twilio": {"transfer_to_agent": {"mode": "dial", "target": "sip:queue@contact-centre.example.com"}}},
}


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=20) as process:
        yield process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, crm: CrmProcess) -> Iterator[ServeProcess]:
    workdir = Path(tmp_path_factory.mktemp("serve-events"))
    with ServeProcess(workdir, agent_settings=AGENT_SETTINGS, with_example_crm=False, crm_url=crm.url) as process:
        yield process


@pytest.fixture(scope="module")
def client(server: ServeProcess) -> Iterator[CallEventsClient]:
    with CallEventsClient(server.url, server.events_secret) as events:
        yield events


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_events_call(server: ServeProcess, client: CallEventsClient, scenario: Scenario) -> None:
    conversation_id = f"bridge-{scenario.name}-{secrets.token_hex(4)}"
    played = play_events(server, scenario, conversation_id, client)
    for text in scenario.agent_says:
        assert any(text in line for line in played.transcript), f"agent never said {text!r}: {played.transcript}"
    ended = [reply for reply in played.replies if reply["ended"]]
    assert ended, f"no reply said the call had ended: {played.replies}"
    assert {reply["end_reason"] for reply in ended} == {scenario.events_end_reason}
    detail = check_outcome(server, conversation_id, case=scenario.case, end_reason=scenario.events_end_reason,
                           topics=scenario.topics, transfer=scenario.events_transfer)
    assert detail["channel"] == "events"
    assert detail["caller"] == "+15550100111"


def test_goodbye_reply_hangs_up(server: ServeProcess, client: CallEventsClient) -> None:
    """The reply tells the bridge what to do: say goodbye, then hang up."""
    cid = f"bridge-bye-{secrets.token_hex(4)}"
    client.call_started(cid, caller="+15550100111")
    reply = client.caller_said(cid, "goodbye")
    assert [a["type"] for a in reply["actions"]] == ["say", "hangup"]
    assert reply["ended"] is True and reply["end_reason"] == "AGENT_HANGUP"


def test_transfer_reply_names_the_number(server: ServeProcess, client: CallEventsClient) -> None:
    cid = f"bridge-transfer-{secrets.token_hex(4)}"
    client.call_started(cid, caller="+15550100111")
    reply = client.caller_said(cid, "billing")
    transfer = [a for a in reply["actions"] if a["type"] == "transfer"]
    assert transfer and transfer[0]["target"]["phone_number"] == "+15550100200"
    assert transfer[0]["target"]["sip_uui_header"] == cid
    assert reply["ended"] is False
    reply = client.transfer_failed(cid, "no-answer")
    assert reply["ended"] is False and any("couldn't take your call" in (a.get("text") or "") for a in reply["actions"])
    assert client.call_ended(cid, "caller", raw_reason="hangup")["end_reason"] == "CUSTOMER_HANGUP"
    assert server.wait_finished(cid)["end_reason"] == "CUSTOMER_HANGUP"


def test_twilio_escalation_dials_the_contact_centre(server: ServeProcess, crm: CrmProcess) -> None:
    """TransferToAgent as a <Dial><Sip> to the contact centre: bridged, it ends as CCAAS_TRANSFER."""
    escalation = next(s for s in SCENARIOS if s.name == "escalation")
    steps = tuple(tuple(str(a).replace("1004", "1015") for a in step) for step in escalation.twilio_steps)
    scenario = dataclasses.replace(escalation, case=1015, twilio_steps=steps)
    call_sid = "CA" + secrets.token_hex(16)
    with httpx.Client(timeout=30, trust_env=False) as http:
        play_twilio(server, scenario, call_sid, http)
    detail = check_outcome(server, call_sid, case=1015, end_reason="CCAAS_TRANSFER",
                           topics=scenario.topics, transfer="answered")
    transfers = [a for a in detail["activities"] if a["type"] == "Transfer"]
    assert transfers and transfers[0]["activity"]["target"]["type"] == "TransferToAgent"


def test_the_server_logged_no_errors(server: ServeProcess) -> None:
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"status": 500' not in log
    assert "Traceback" not in log, server.log_tail(80)
    assert '"route": "/channels/events"' in log  # the request log names the route
    for secret in (server.twilio_token, server.events_secret, server.admin_token):
        assert secret not in log  # never logged
