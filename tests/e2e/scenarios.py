"""The call scenarios of data/scenarios.yaml, played over real HTTP by Twilio's protocol or call events.

`play_twilio` drives the Twilio simulator (every request signed with twilio's RequestValidator)
and adds the deliveries the simulator does not make on its own (a lone status callback, a Dial
action after the caller left).  `play_events` drives `CallEventsClient`.  `check_outcome` reads
the admin API and the CRM and asserts what the scenario says.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import yaml
from twilio.request_validator import RequestValidator

from e2e.server import ServeProcess
from postcall.devtools.events_client import CallEventsClient
from postcall.devtools.twilio_simulator import SimulatorOptions, TwilioSimulator

DATA = Path(__file__).parent / "data"
CRM_UPDATE = "Post-call CRM update"
POST_CALL_LOG = "Post-call log"
CRM_UPDATE_NODE = "httpRequest_CrmUpd"
OUTCOME_FLOW_NODE = "invokeFlowAction_Oc0m31"


@dataclass(frozen=True)
class Scenario:
    name: str
    case: int
    end_reason: str
    topics: frozenset[str]
    transfer: str | None
    agent_says: tuple[str, ...]
    twilio_steps: tuple[tuple[Any, ...], ...]
    twilio_options: Mapping[str, Any]
    events_steps: tuple[tuple[Any, ...], ...]
    events_end_reason: str
    events_transfer: str | None


def load_scenarios() -> list[Scenario]:
    raw = yaml.safe_load((DATA / "scenarios.yaml").read_text(encoding="utf-8"))
    out = []
    for item in raw["scenarios"]:
        out.append(
            Scenario(
                name=item["name"],
                case=int(item["case"]),
                end_reason=item["end_reason"],
                topics=frozenset(item["topics"]),
                transfer=item.get("transfer"),
                agent_says=tuple(item.get("agent_says") or ()),
                twilio_steps=tuple(tuple(step) for step in item["twilio"]["steps"]),
                twilio_options=dict(item["twilio"].get("options") or {}),
                events_steps=tuple(tuple(step) for step in item["events"]["steps"]),
                events_end_reason=item.get("events_end_reason", item["end_reason"]),
                events_transfer=item.get("events_transfer", item.get("transfer")),
            )
        )
    return out


SCENARIOS = load_scenarios()


# ----------------------------------------------------------------------------------------------
# Twilio


@dataclass
class TwilioPlay:
    call_sid: str
    transcript: list[str]
    statuses: list[tuple[str, int]] = field(default_factory=list)


def _rfc2822_now() -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))


class SignedPoster:
    """Posts form webhooks exactly as Twilio does: X-Twilio-Signature over URL and parameters."""

    def __init__(self, server: ServeProcess, http: httpx.Client) -> None:
        self.server = server
        self.validator = RequestValidator(server.twilio_token)
        self.http = http

    def post(self, url: str, params: Mapping[str, str]) -> httpx.Response:
        signature = self.validator.compute_signature(url, dict(params))
        return self.http.post(url, data=dict(params), headers={"X-Twilio-Signature": signature})


def play_twilio(server: ServeProcess, scenario: Scenario, call_sid: str, http: httpx.Client) -> TwilioPlay:
    """Place the scenario's call through the Twilio simulator; every webhook must answer 200."""
    options = SimulatorOptions(**scenario.twilio_options)
    sim = TwilioSimulator(server.url, server.twilio_token, call_sid=call_sid, options=options, http=http)
    poster = SignedPoster(server, http)
    extra: list[tuple[str, int]] = []
    manual_end = False
    sim.start()
    for step in scenario.twilio_steps:
        name, argument = step[0], (str(step[1]) if len(step) > 1 else None)
        if name == "status":
            params = _base_params(sim) | {
                "CallStatus": str(argument),
                "CallDuration": "30",
                "Timestamp": _rfc2822_now(),
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(100 + len(extra)),
            }
            response = poster.post(server.url + "/channels/twilio/status", params)
            extra.append(("status", response.status_code))
            manual_end = True
        elif name == "dial-action":
            # The <Dial> the call waits in, as the simulator read it from the server's TwiML.
            dial = sim._pending  # the simulator keeps the verb the call waits in (no public accessor)
            assert dial is not None and dial.tag == "Dial", f"{scenario.name}: no <Dial> to act on"
            action = urljoin(server.url + "/channels/twilio/voice", dial.get("action") or "")
            params = _base_params(sim) | {
                "CallStatus": "completed",
                "DialCallStatus": str(argument),
                "DialCallSid": "CA" + "0" * 24 + call_sid[-8:],
                "DialBridged": "false",
            }
            response = poster.post(action, params)
            extra.append(("dial-action", response.status_code))
            manual_end = True
        else:
            sim.step(name, argument)
    if not manual_end:
        sim.finish()
    sim.close()
    for what, status in extra:
        assert status == 200, f"{scenario.name}: Twilio's {what} delivery answered {status}"
    bad = [(r.path, r.status) for r in sim.call.requests if r.status != 200]
    assert not bad, f"{scenario.name}: webhooks refused: {bad}"
    return TwilioPlay(call_sid, [line.text for line in sim.call.lines if line.speaker == "agent"], extra)


def _base_params(sim: TwilioSimulator) -> dict[str, str]:
    first = dict(sim.call.requests[0].params)  # the voice webhook: Twilio's standard parameters
    for name in ("SpeechResult", "Confidence", "Digits"):
        first.pop(name, None)
    return first


# ----------------------------------------------------------------------------------------------
# Call events


@dataclass
class EventsPlay:
    conversation_id: str
    replies: list[dict[str, Any]]

    @property
    def transcript(self) -> list[str]:
        return [a["text"] for r in self.replies for a in r["actions"] if a["type"] == "say"]


def _event(conversation_id: str, step: Sequence[Any]) -> dict[str, Any]:
    kind = step[0]
    base: dict[str, Any] = {"conversation_id": conversation_id}
    if kind == "said":
        return base | {"type": "caller.said", "text": str(step[1]), "confidence": 0.9}
    if kind == "dtmf":
        return base | {"type": "caller.dtmf", "digits": str(step[1])}
    if kind == "silence":
        return base | {"type": "caller.silence"}
    if kind == "transfer-answered":
        return base | {"type": "transfer.answered", "raw_reason": "bridged"}
    if kind == "transfer-failed":
        return base | {"type": "transfer.failed", "outcome": str(step[1]), "raw_reason": str(step[1])}
    if kind == "ended":
        return base | {"type": "call.ended", "initiator": str(step[1]), "raw_reason": str(step[2])}
    raise ValueError(f"Unknown events step {kind!r}.")


def play_events(server: ServeProcess, scenario: Scenario, conversation_id: str, client: CallEventsClient) -> EventsPlay:
    """Play the scenario as a bridge would; every event must be accepted (200)."""
    replies = [client.call_started(conversation_id, caller="+15550100111", callee="+15550100999")]
    last: dict[str, Any] | None = None
    for step in scenario.events_steps:
        if step[0] == "replay":
            assert last is not None, f"{scenario.name}: nothing to replay"
            replies.append(client.send(last))
        elif step[0] == "out-of-order":
            first, second = (client.prepare(_event(conversation_id, s)) for s in step[1])
            replies.append(client.send(second))
            replies.append(client.send(first))
            last = first
        else:
            last = client.prepare(_event(conversation_id, step))
            replies.append(client.send(last))
    return EventsPlay(conversation_id, replies)


# ----------------------------------------------------------------------------------------------
# What must be true afterwards


def check_outcome(
    server: ServeProcess,
    conversation_id: str,
    *,
    case: int,
    end_reason: str,
    topics: frozenset[str],
    transfer: str | None,
) -> dict[str, Any]:
    """The end, the post-call runs and the CRM, as the scenario says; returns the conversation."""
    detail = server.wait_finished(conversation_id)
    assert detail["end_reason"] == end_reason, (
        f"{conversation_id}: ended {detail['end_reason']}, expected {end_reason}; end record: {detail['end_record']}"
    )
    ends = [a for a in detail["transcript"] if a["kind"] == "end"]
    assert len(ends) == 1, f"{conversation_id}: {len(ends)} ends in the timeline"
    runs = {run["topic"]: run for run in detail["runs"]}
    assert len(runs) == len(detail["runs"]), f"{conversation_id}: a topic ran twice: {detail['runs']}"
    assert set(runs) == set(topics), f"{conversation_id}: ran {sorted(runs)}, expected {sorted(topics)}"
    failed = {t: r["error"] for t, r in runs.items() if r["status"] != "succeeded"}
    assert not failed, f"{conversation_id}: post-call runs failed: {failed}"
    listed = server.runs(conversation_id)  # /api/runs agrees with the conversation's runs
    assert sorted(r["topic"] for r in listed) == sorted(topics), listed

    record = detail["end_record"]["record"]
    recorded_transfer = (record.get("detail") or {}).get("transfer")
    if transfer is None:
        assert recorded_transfer is None, f"{conversation_id}: unexpected transfer {recorded_transfer}"
    else:
        assert recorded_transfer is not None and recorded_transfer["outcome"] == transfer, (
            f"{conversation_id}: transfer {recorded_transfer}, expected outcome {transfer}"
        )

    deliveries = server.crm_deliveries()
    update_key = f"{conversation_id}:{CRM_UPDATE}:{CRM_UPDATE_NODE}"
    outcome_key = f"{conversation_id}:{POST_CALL_LOG}:{OUTCOME_FLOW_NODE}"
    case_now = server.crm_case(case)
    if CRM_UPDATE in topics:
        assert deliveries.get(update_key) == 1, f"{conversation_id}: CRM update delivered {deliveries.get(update_key)} times"
        assert case_now["update_count"] == 1, f"case {case} updated {case_now['update_count']} times"
        assert case_now["end_reason"] == end_reason and case_now["status"] == "in_progress"
        assert case_now["call_end_time"], f"case {case} has no call end time"
    else:
        assert update_key not in deliveries, f"{conversation_id}: the CRM was updated on {end_reason}"
        assert case_now["update_count"] == 0 and case_now["end_reason"] is None, f"case {case} changed: {case_now}"
    assert deliveries.get(outcome_key) == 1, f"{conversation_id}: call outcome delivered {deliveries.get(outcome_key)} times"
    outcomes = [o for o in server.crm_outcomes() if o["conversation_id"] == conversation_id]
    assert len(outcomes) == 1 and outcomes[0]["end_reason"] == end_reason, outcomes
    assert str(outcomes[0]["case_number"]) == str(case), outcomes
    return detail
