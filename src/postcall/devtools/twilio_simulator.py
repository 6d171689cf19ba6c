"""A Twilio call simulator: drives a running postcall server exactly as Twilio would.

For people without a Twilio account, and for tests.  It posts the incoming-call webhook, reads
the TwiML answer, and plays the caller's part through the documents that follow: speech or
digits (or nothing, for silence) to `<Gather>`'s action, the dialled leg's `answered` status
callback and `<Dial>`'s action for a transfer, `<Enqueue>`'s waitUrl and action for a hand-off
to a TaskRouter workflow, and the call's status callback when the call ends.  Every request
carries Twilio's parameter set (AccountSid, ApiVersion, CallSid, CallStatus, Called, Caller,
Direction, From, To, ...; Timestamp, CallbackSource and SequenceNumber on status callbacks) and
an `X-Twilio-Signature` computed by the twilio package's RequestValidator.

    call = run_simulated_call("http://127.0.0.1:8000", token,
                              [("say", "I want to talk to someone"), ("transfer-result", "busy"),
                               ("hang-up", None)])
    print(call.render())

`SimulatorOptions` reproduces Twilio's awkward deliveries: duplicated status callbacks, retried
action callbacks, the parent call's status callback before the Dial action, a missing child-leg
callback.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from twilio.request_validator import RequestValidator

from postcall.errors import ChannelError

__all__ = [
    "STEP_NAMES",
    "SimulatedCall",
    "SimulatedRequest",
    "SimulatorOptions",
    "TranscriptLine",
    "TwilioSimulator",
    "TwilioSimulatorError",
    "run_simulated_call",
]

STEP_NAMES = ("say", "press", "silence", "transfer-result", "hang-up")
TRANSFER_RESULTS = ("answered", "busy", "no-answer", "failed", "canceled")
# How a scripted transfer result reads in <Enqueue>'s QueueResult when the call never reached
# an agent's queue ("answered" is the caller waiting in the queue: the waitUrl request).
_QUEUE_RESULTS = {
    "busy": "queue-full",
    "no-answer": "leave",
    "failed": "error",
    "canceled": "redirected",
}
_SECONDS_PER_STEP = 4  # simulated call time advances by this much per caller step


class TwilioSimulatorError(ChannelError):
    """The server answered something Twilio could not follow, or a step does not fit the call."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message, status=status, field=None)


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    duplicate_status_callbacks: bool = False  # every status callback is delivered twice
    retry_actions: bool = False  # every action callback is delivered twice (same body)
    status_before_dial_action: bool = False  # when a bridged call ends, parent status first
    child_answered_callback: bool = True  # the dialled leg reports `answered`
    speech_confidence: float = 0.92


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    speaker: str  # "caller", "agent" or "twilio"
    text: str


@dataclass(frozen=True, slots=True)
class SimulatedRequest:
    method: str
    path: str
    status: int
    params: Mapping[str, str]


@dataclass
class SimulatedCall:
    call_sid: str
    lines: list[TranscriptLine] = field(default_factory=list)
    verbs: list[str] = field(default_factory=list)
    requests: list[SimulatedRequest] = field(default_factory=list)
    ended_by: str | None = None  # "caller", "agent" or "twilio" (the document ran out)

    def render(self) -> str:
        """The conversation as printable lines."""
        out = [f"call {self.call_sid}"]
        out += [f"{line.speaker:>6}: {line.text}" for line in self.lines]
        out.append(f"ended by {self.ended_by or '(still open)'}")
        return "\n".join(out)

    def said_by(self, speaker: str) -> list[str]:
        return [line.text for line in self.lines if line.speaker == speaker]


class TwilioSimulator:
    """One simulated inbound call against a running server."""

    def __init__(
        self,
        base_url: str,
        auth_token: str,
        *,
        call_sid: str | None = None,
        from_: str = "+15005550006",
        to: str = "+15005550001",
        account_sid: str | None = None,
        options: SimulatorOptions | None = None,
        signing_base_url: str | None = None,
        voice_path: str = "/channels/twilio/voice",
        status_path: str = "/channels/twilio/status",
        http: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.public_base = (signing_base_url or base_url).rstrip("/")
        self.call_sid = call_sid or "CA" + secrets.token_hex(16)
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.from_, self.to = from_, to
        self.options = options or SimulatorOptions()
        self.voice_path, self.status_path = voice_path, status_path
        self.call = SimulatedCall(self.call_sid)
        self._validator = RequestValidator(auth_token)
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self._doc_url = self.public_base + voice_path
        self._pending: ET.Element | None = None  # the Gather/Dial/Enqueue the call waits in
        self._remaining: list[ET.Element] = []  # verbs after it in the same document
        self._bridged = False
        self._child_sid: str | None = None
        self._sequence = 0
        self._child_sequence = 0
        self._elapsed = 0
        self._started = False

    def __repr__(self) -> str:
        return f"TwilioSimulator({self.base_url!r}, call_sid={self.call_sid!r})"  # never the token

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    @property
    def transfer_ringing(self) -> bool:
        """Whether the call waits in a <Dial> or <Enqueue> that has not been answered yet."""
        verb = self._pending
        return (
            self.call.ended_by is None
            and verb is not None
            and verb.tag in ("Dial", "Enqueue")
            and not self._bridged
        )

    @property
    def bridged(self) -> bool:
        """Whether a transfer was answered and the caller is now connected to it."""
        return self._bridged

    # -- the caller's steps --------------------------------------------------------------------

    def start(self) -> None:
        """The call comes in: Twilio requests the number's voice URL."""
        if self._started:
            raise TwilioSimulatorError("The call has already started.")
        self._started = True
        twiml = self._post(self.public_base + self.voice_path, self._params("ringing"), twiml=True)
        self._run(twiml, self.public_base + self.voice_path)

    def step(self, name: str, argument: str | None = None) -> None:
        kind = name.strip().lower().replace("_", "-")
        if kind == "say":
            self.say(_need(argument, "say"))
        elif kind == "press":
            self.press(_need(argument, "press"))
        elif kind == "silence":
            self.silence()
        elif kind == "transfer-result":
            self.transfer_result(_need(argument, "transfer-result"))
        elif kind in ("hang-up", "hangup"):
            self.hang_up()
        else:
            raise TwilioSimulatorError(
                f"Unknown step {name!r}; the steps are {', '.join(STEP_NAMES)}."
            )

    def say(self, text: str, confidence: float | None = None) -> None:
        gather = self._gather_waiting("speech")
        self.call.lines.append(TranscriptLine("caller", text))
        score = self.options.speech_confidence if confidence is None else confidence
        self._answer_gather(gather, {"SpeechResult": text, "Confidence": f"{score:.8f}"})

    def press(self, digits: str) -> None:
        gather = self._gather_waiting("dtmf")
        self.call.lines.append(TranscriptLine("caller", f"(presses {digits})"))
        self._answer_gather(gather, {"Digits": digits})

    def silence(self) -> None:
        gather = self._gather_waiting(None)
        self.call.lines.append(TranscriptLine("caller", "(says nothing)"))
        if gather.get("actionOnEmptyResult", "false").lower() == "true":
            self._answer_gather(gather, {})
        else:  # Twilio goes on with the verbs after <Gather>
            self._pending, rest = None, self._remaining
            self._run_verbs(rest, self._doc_url)

    def transfer_result(self, result: str) -> None:
        outcome = result.strip().lower().replace("_", "-")
        if outcome not in TRANSFER_RESULTS:
            raise TwilioSimulatorError(
                f"Unknown transfer result {result!r}; expected one of {', '.join(TRANSFER_RESULTS)}."
            )
        verb = self._pending
        if verb is None or verb.tag not in ("Dial", "Enqueue") or self._bridged:
            raise TwilioSimulatorError(
                "No transfer is ringing: the agent has not answered with <Dial> or <Enqueue>."
            )
        self._tick()
        if verb.tag == "Dial":
            self._dial_result(verb, outcome)
        else:
            self._enqueue_result(verb, outcome)

    def hang_up(self) -> None:
        """The caller hangs up, whatever the call is doing."""
        if self.call.ended_by is not None:
            raise TwilioSimulatorError("The call has already ended.")
        self._tick()
        self.call.lines.append(TranscriptLine("caller", "(hangs up)"))
        self.call.ended_by = "caller"
        verb, bridged = self._pending, self._bridged
        self._pending = None
        if verb is not None and verb.tag == "Dial" and bridged:
            if self.options.status_before_dial_action:
                self._status_callback("completed")
                self._dial_action(verb, "completed", bridged=True, run=False)
            else:
                self._dial_action(verb, "completed", bridged=True, run=False)
                self._status_callback("completed")
        elif verb is not None and verb.tag == "Enqueue" and bridged:
            self._enqueue_action(verb, "hangup", run=False)
            self._status_callback("completed")
        else:
            self._status_callback("completed")

    def finish(self) -> SimulatedCall:
        """End the call if it is still open (the caller hangs up) and return the record."""
        if self.call.ended_by is None:
            self.hang_up()
        self.close()
        return self.call

    # -- Twilio's side -------------------------------------------------------------------------

    def _run(self, twiml: str, url: str) -> None:
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError as exc:
            raise TwilioSimulatorError(
                f"The server's answer to {url} is not TwiML: {exc}."
            ) from None
        if root.tag != "Response":
            raise TwilioSimulatorError(
                f"The server's answer to {url} is <{root.tag}>, not <Response>."
            )
        self._doc_url = url
        self._run_verbs(list(root), url)

    def _run_verbs(self, verbs: list[ET.Element], url: str) -> None:
        for index, verb in enumerate(verbs):
            self.call.verbs.append(verb.tag)
            if verb.tag == "Say":
                self._agent_says(verb)
            elif verb.tag == "Play":
                self.call.lines.append(
                    TranscriptLine("twilio", f"(plays {(verb.text or '').strip()})")
                )
            elif verb.tag in ("Gather", "Dial", "Enqueue"):
                self._pending, self._remaining = verb, verbs[index + 1 :]
                self._bridged = False
                if verb.tag == "Gather":
                    for child in verb:
                        self.call.verbs.append(child.tag)
                        if child.tag == "Say":
                            self._agent_says(child)
                elif verb.tag == "Dial":
                    self._child_sid = "CA" + secrets.token_hex(16)
                    self._child_sequence = 0
                    targets = [f"{c.tag} {(c.text or '').strip()}" for c in verb]
                    self.call.verbs.extend(c.tag for c in verb)
                    self.call.lines.append(
                        TranscriptLine(
                            "twilio", f"(dials {', '.join(targets) or (verb.text or '').strip()})"
                        )
                    )
                else:
                    self.call.lines.append(
                        TranscriptLine(
                            "twilio",
                            f"(enqueues the call, workflow {verb.get('workflowSid', '-')})",
                        )
                    )
                return
            elif verb.tag == "Hangup" or verb.tag == "Reject":
                self.call.lines.append(TranscriptLine("agent", "(hangs up)"))
                self.call.ended_by = "agent"
                self._pending = None
                self._status_callback("completed")
                return
            elif verb.tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                if not self._ours(target):
                    self.call.lines.append(TranscriptLine("twilio", f"(follows {target})"))
                    return
                twiml = self._post(target, self._params("in-progress"), twiml=True)
                self._run(twiml, target)
                return
            elif verb.tag == "Pause":
                continue
            else:
                self.call.lines.append(TranscriptLine("twilio", f"(skips <{verb.tag}>)"))
        # The document ran out of verbs: Twilio hangs up.
        self.call.lines.append(TranscriptLine("twilio", "(no more TwiML: hangs up)"))
        self.call.ended_by = "twilio"
        self._pending = None
        self._status_callback("completed")

    def _agent_says(self, say: ET.Element) -> None:
        text = " ".join("".join(say.itertext()).split())
        self.call.lines.append(TranscriptLine("agent", text))

    def _gather_waiting(self, kind: str | None) -> ET.Element:
        if self.call.ended_by is not None:
            raise TwilioSimulatorError("The call has ended.")
        verb = self._pending
        if verb is None or verb.tag != "Gather":
            what = "a transfer" if verb is not None else "nothing"
            raise TwilioSimulatorError(
                f"The agent is not listening (the call is waiting on {what})."
            )
        accepted = verb.get("input", "dtmf").split()
        if kind is not None and kind not in accepted:
            raise TwilioSimulatorError(
                f"The agent's <Gather> takes {' and '.join(accepted)}, not {kind}."
            )
        self._tick()
        return verb

    def _answer_gather(self, gather: ET.Element, extra: Mapping[str, str]) -> None:
        self._pending = None
        target = urljoin(self._doc_url, gather.get("action") or self._doc_url)
        twiml = self._post(
            target, {**self._params("in-progress"), **extra}, twiml=True, action=True
        )
        self._run(twiml, target)

    def _dial_result(self, dial: ET.Element, outcome: str) -> None:
        if outcome == "answered":
            self._bridged = True
            targets = [c for c in dial if c.tag in ("Number", "Sip", "Client")]
            self.call.lines.append(
                TranscriptLine("twilio", "(transfer answered: the caller is bridged)")
            )
            for target in targets[:1]:
                events = (target.get("statusCallbackEvent") or "").replace(",", " ").split()
                callback = target.get("statusCallback")
                if callback and "answered" in events and self.options.child_answered_callback:
                    self._child_callback(target, urljoin(self._doc_url, callback), "in-progress")
            return
        self.call.lines.append(TranscriptLine("twilio", f"(transfer {outcome})"))
        self._dial_action(dial, outcome, bridged=False, run=True)

    def _dial_action(self, dial: ET.Element, outcome: str, *, bridged: bool, run: bool) -> None:
        self._pending = None
        action = dial.get("action")
        if not action:
            if run:
                self._run_verbs(self._remaining, self._doc_url)
            return
        target = urljoin(self._doc_url, action)
        params = {
            **self._params("completed" if not run else "in-progress"),
            "DialCallStatus": outcome,
            "DialCallSid": self._child_sid or "",
            "DialBridged": "true" if bridged else "false",
        }
        if bridged:
            params["DialCallDuration"] = str(self._elapsed)
        twiml = self._post(target, params, twiml=run, action=True)
        if run:
            self._run(twiml, target)

    def _enqueue_result(self, enqueue: ET.Element, outcome: str) -> None:
        if outcome == "answered":
            self._bridged = True
            self.call.lines.append(
                TranscriptLine("twilio", "(the caller waits in the contact centre's queue)")
            )
            wait = enqueue.get("waitUrl")
            if wait:
                target = urljoin(self._doc_url, wait)
                params = {
                    **self._params("in-progress"),
                    "QueuePosition": "1",
                    "QueueSid": "QU" + secrets.token_hex(16),
                    "QueueTime": "0",
                    "AvgQueueTime": "0",
                    "CurrentQueueSize": "1",
                    "MaxQueueSize": "100",
                }
                hold = self._post(target, params, twiml=True)
                try:
                    self.call.verbs.extend(element.tag for element in ET.fromstring(hold))
                except ET.ParseError as exc:
                    raise TwilioSimulatorError(
                        f"The server's answer to {target} is not TwiML: {exc}."
                    ) from None
            return
        self.call.lines.append(TranscriptLine("twilio", f"(hand-off {outcome})"))
        self._enqueue_action(enqueue, _QUEUE_RESULTS[outcome], run=True)

    def _enqueue_action(self, enqueue: ET.Element, result: str, *, run: bool) -> None:
        self._pending = None
        action = enqueue.get("action")
        if not action:
            if run:
                self._run_verbs(self._remaining, self._doc_url)
            return
        target = urljoin(self._doc_url, action)
        params = {**self._params("in-progress" if run else "completed"), "QueueResult": result}
        twiml = self._post(target, params, twiml=run, action=True)
        if run:
            self._run(twiml, target)

    def _child_callback(self, target: ET.Element, url: str, status: str) -> None:
        number = (target.text or "").strip()
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self._child_sid or "",
            "ParentCallSid": self.call_sid,
            "CallStatus": status,
            "Direction": "outbound-dial",
            "From": self.from_,
            "To": number,
            "Caller": self.from_,
            "Called": number,
            "Timestamp": _rfc2822_now(),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._child_sequence),
        }
        self._child_sequence += 1
        self._post(url, params, twiml=False)

    def _status_callback(self, status: str) -> None:
        params = {
            **self._params(status),
            "CallDuration": str(self._elapsed),
            "Duration": str(max(1, math.ceil(self._elapsed / 60))),
            "Timestamp": _rfc2822_now(),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence),
        }
        self._sequence += 1
        url = self.public_base + self.status_path
        for _ in range(2 if self.options.duplicate_status_callbacks else 1):
            self._post(url, params, twiml=False)

    # -- HTTP ------------------------------------------------------------------------------------

    def _params(self, call_status: str) -> dict[str, str]:
        """Twilio's standard voice request parameters for this call."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": call_status,
            "Called": self.to,
            "CalledCity": "",
            "CalledCountry": "US",
            "CalledState": "",
            "CalledZip": "",
            "Caller": self.from_,
            "CallerCity": "",
            "CallerCountry": "US",
            "CallerState": "",
            "CallerZip": "",
            "Direction": "inbound",
            "From": self.from_,
            "FromCity": "",
            "FromCountry": "US",
            "FromState": "",
            "FromZip": "",
            "To": self.to,
            "ToCity": "",
            "ToCountry": "US",
            "ToState": "",
            "ToZip": "",
        }

    def _ours(self, url: str) -> bool:
        target, base = urlsplit(url), urlsplit(self.public_base)
        return (target.scheme, target.netloc) == (base.scheme, base.netloc)

    def _post(
        self, url: str, params: Mapping[str, str], *, twiml: bool, action: bool = False
    ) -> str:
        if not self._ours(url):
            raise TwilioSimulatorError(
                f"The server sent Twilio to {url}, which is not under {self.public_base}."
            )
        parts = urlsplit(url)
        send_to = self.base_url + urlunsplit(("", "", parts.path, parts.query, ""))
        signature = self._validator.compute_signature(url, dict(params))
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1 (postcall simulator)",
        }
        attempts = 2 if (action and self.options.retry_actions) else 1
        for _ in range(attempts):
            try:
                response = self._http.post(send_to, data=dict(params), headers=headers)
            except httpx.HTTPError as exc:
                raise TwilioSimulatorError(f"Cannot reach {send_to}: {exc}.", status=400) from None
            self.call.requests.append(
                SimulatedRequest("POST", parts.path, response.status_code, dict(params))
            )
        if response.status_code != 200:
            raise TwilioSimulatorError(
                f"POST {parts.path} answered {response.status_code}: {response.text[:300].strip()}",
                status=response.status_code if 400 <= response.status_code < 500 else 400,
            )
        if twiml:
            content_type = response.headers.get("content-type", "")
            if "xml" not in content_type:
                raise TwilioSimulatorError(
                    f"POST {parts.path} answered {content_type!r}, not TwiML (XML)."
                )
        return response.text

    def _tick(self) -> None:
        self._elapsed += _SECONDS_PER_STEP


def _need(argument: str | None, step: str) -> str:
    if argument is None or argument == "":
        raise TwilioSimulatorError(f"The step {step!r} needs a value.")
    return argument


def _rfc2822_now() -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))


def run_simulated_call(
    base_url: str,
    auth_token: str,
    steps: Iterable[tuple[str, str | None]],
    *,
    call_sid: str | None = None,
    from_: str = "+15005550006",
    to: str = "+15005550001",
    options: SimulatorOptions | None = None,
    signing_base_url: str | None = None,
    http: httpx.Client | None = None,
) -> SimulatedCall:
    """Place one simulated call, play `steps` (say TEXT, press DIGITS, silence, transfer-result
    X, hang-up), and return the call.  A call still open after the last step is hung up by the
    caller.  Raises TwilioSimulatorError when the server refuses a request or a step does not fit.
    """
    simulator = TwilioSimulator(
        base_url,
        auth_token,
        call_sid=call_sid,
        from_=from_,
        to=to,
        options=options,
        signing_base_url=signing_base_url,
        http=http,
    )
    try:
        simulator.start()
        for name, argument in steps:
            if simulator.call.ended_by is not None:
                raise TwilioSimulatorError(f"The call ended before the step {name!r}.")
            simulator.step(name, argument)
        return simulator.finish()
    finally:
        simulator.close()
