"""Twilio Programmable Voice: signed webhooks in, TwiML out.

Endpoints, all under `/channels/twilio/` (`POST`, form-encoded; `GET` with the parameters in the
query string is accepted too):

| endpoint      | Twilio sends it                                     | means for the runtime                 |
| ------------- | --------------------------------------------------- | ------------------------------------- |
| `voice`       | an incoming call (the number's voice URL)           | `CallStarted` (CallSid, From, To)     |
| `gather`      | `<Gather>`'s action: SpeechResult/Confidence/Digits | message, or the silence event         |
| `status`      | the call's status callback (CallStatus)             | terminal status → endOfConversation   |
| `dial`        | `<Dial>`'s action: DialCallStatus                   | transfer result                       |
| `dial-status` | the dialled leg's `answered` status callback        | transfer answered                     |
| `enqueue`     | `<Enqueue>`'s action: QueueResult                   | transfer result                       |
| `enqueue-wait`| `<Enqueue>`'s waitUrl: the caller is in the queue    | transfer answered (hand-off done)     |

Every request's `X-Twilio-Signature` is checked with the twilio package's `RequestValidator`
over the URL Twilio requested: the URL the request came to, or, when a public base URL is set
(behind a proxy), that URL with the public scheme, host, port and path prefix.  Translation is a
pure function of the verified parameters (`translate`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from postcall.channels.base import (
    DEFAULT_MAX_BODY_BYTES,
    Acknowledge,
    ActivityInput,
    CallStarted,
    ChannelInput,
    ChannelReply,
    WebhookRequest,
    check_body_size,
    end_of_conversation_activity,
    event_activity,
    message_activity,
    transfer_result_activity,
)
from postcall.channels.twilio_twiml import (
    AgentTransferSettings,
    TwilioSettings,
    TwilioVoiceSettings,
    hold_twiml,
    render_twiml,
)
from postcall.engine.activity import AgentOutput, ChannelEvent, HangUp, Initiator, TransferOutcome
from postcall.errors import ChannelError, ConfigError

__all__ = [
    "AgentTransferSettings",
    "TwilioChannel",
    "TwilioSettings",
    "TwilioVoiceSettings",
    "ENDPOINTS",
    "load_auth_token",
    "render_twiml",
    "translate",
]

log = logging.getLogger("postcall.channels.twilio")

CHANNEL_ID = "twilio"
ENDPOINTS = ("voice", "gather", "status", "dial", "dial-status", "enqueue", "enqueue-wait")
TWIML_CONTENT_TYPE = "application/xml"

# Twilio's CallStatus values (docs: TwiML Voice request parameters, "CallStatus values").
TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
PROGRESS_CALL_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress", "answered"})

DIAL_OUTCOMES = {
    "completed": TransferOutcome.ANSWERED,  # the dialled party answered and was connected
    "answered": TransferOutcome.ANSWERED,  # the same, when the target was a conference
    "busy": TransferOutcome.BUSY,
    "no-answer": TransferOutcome.NO_ANSWER,
    "failed": TransferOutcome.FAILED,
    "canceled": TransferOutcome.CANCELED,
}

# <Enqueue> action `QueueResult` values.  The call reaching the queue is the hand-off itself
# (reported by the waitUrl request); these results matter when it never got there.
QUEUE_OUTCOMES = {
    "bridged": TransferOutcome.ANSWERED,
    "bridging-in-process": TransferOutcome.ANSWERED,
    "redirected-from-bridged": TransferOutcome.ANSWERED,
    "hangup": TransferOutcome.ABANDONED,
    "leave": TransferOutcome.NO_ANSWER,
    "queue-full": TransferOutcome.BUSY,
    "redirected": TransferOutcome.CANCELED,
    "error": TransferOutcome.FAILED,
    "system-error": TransferOutcome.FAILED,
}

_SID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_DIGITS = re.compile(r"[0-9*#A-Da-d]+")


def load_auth_token(
    environ: Mapping[str, str] | None = None, secret_file: str | Path | None = None
) -> str:
    """The Twilio auth token: `TWILIO_AUTH_TOKEN` from the environment, else the named secret file.

    Raises ConfigError (never showing the token) when neither gives a non-empty value.
    """
    env = os.environ if environ is None else environ
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if token:
        return token
    if secret_file is not None:
        path = Path(secret_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"Cannot read the Twilio auth token file {str(path)!r}: {exc.strerror}.") from None
        if token:
            return token
        raise ConfigError(f"The Twilio auth token file {str(path)!r} is empty.")
    raise ConfigError(
        "No Twilio auth token: set the environment variable TWILIO_AUTH_TOKEN "
        "or name a secret file in agent.yaml."
    )


class _MultiParams(dict[str, list[str]]):
    """Form fields in the shape RequestValidator reads repeated names from (`getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class TwilioChannel:
    """The Twilio channel: verifies, translates, renders.  Holds no per-call state."""

    name = CHANNEL_ID

    def __init__(
        self,
        auth_token: str,
        public_base_url: str | None = None,
        voice: TwilioVoiceSettings | None = None,
        transfer_to_agent: AgentTransferSettings | None = None,
        caller_id: str | None = None,
        *,
        ring_timeout_s: int = 30,
        base_path: str = "/channels/twilio",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not auth_token:
            raise ConfigError("The Twilio auth token is empty; set TWILIO_AUTH_TOKEN.")
        if public_base_url is not None:
            parts = urlsplit(public_base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"The public base URL must be an http(s) URL like https://example.com, not {public_base_url!r}."
                )
        self._validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.base_path = "/" + base_path.strip("/")
        self.max_body_bytes = max_body_bytes
        self.settings = TwilioSettings(
            voice=voice or TwilioVoiceSettings(),
            transfer_to_agent=transfer_to_agent,
            caller_id=caller_id,
            ring_timeout_s=ring_timeout_s,
            base_url=self.public_base_url or "",
            base_path=self.base_path,
        )
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def __repr__(self) -> str:
        return f"TwilioChannel(public_base_url={self.public_base_url!r})"  # never the token

    # -- requests ------------------------------------------------------------------------------

    @property
    def paths(self) -> tuple[str, ...]:
        """The URL paths the server mounts, one per endpoint."""
        return tuple(f"{self.base_path}/{endpoint}" for endpoint in ENDPOINTS)

    def endpoint(self, request: WebhookRequest) -> str:
        path = request.path.rstrip("/")
        prefix = self.base_path + "/"
        name = path[len(prefix):] if path.startswith(prefix) else ""
        if name not in ENDPOINTS:
            raise ChannelError(f"No Twilio webhook at {path!r}.", status=404, field="path")
        return name

    def signed_url(self, request: WebhookRequest) -> str:
        """The URL Twilio signed: the request's own URL, or its public form behind a proxy."""
        if self.public_base_url is None:
            return request.url
        parts = urlsplit(request.url)
        public = urlsplit(self.public_base_url)
        return urlunsplit(
            (public.scheme, public.netloc, public.path.rstrip("/") + parts.path, parts.query, "")
        )

    def verify(self, request: WebhookRequest) -> dict[str, str]:
        """Check size and signature; return the signed parameters (one value per name).

        Raises ChannelError: 413 over the size limit, 400 for a body that is not form data or a
        method other than POST or GET, 403 for a missing or wrong signature.
        """
        check_body_size(request.body, self.max_body_bytes)
        if request.method == "POST":
            fields = request.form(self.max_body_bytes)
            signed: Mapping[str, Any] = _MultiParams(fields)
            params = {name: values[-1] for name, values in fields.items()}
        elif request.method == "GET":
            signed, params = {}, request.query
        else:
            raise ChannelError(
                f"Twilio webhooks use POST or GET, not {request.method!r}.", status=400, field="method"
            )
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            log.warning("twilio webhook refused: no %s header (%s %s)", SIGNATURE_HEADER, request.method, request.path)
            raise ChannelError(f"Missing {SIGNATURE_HEADER} header.", status=403, field=SIGNATURE_HEADER)
        algorithm = get_signature_algorithm(request.header(SIGNATURE_SETTINGS_HEADER))
        url = self.signed_url(request)
        try:
            valid = self._validator.validate(url, signed, signature, algorithm)
        except (ValueError, TypeError, UnicodeError):
            valid = False
        if not valid:
            log.warning("twilio webhook refused: bad signature (%s %s)", request.method, request.path)
            raise ChannelError(
                f"{SIGNATURE_HEADER} does not match this request; the URL checked was {url!r}. "
                "Behind a proxy, set the public base URL.",
                status=403,
                field=SIGNATURE_HEADER,
            )
        return params

    def parse(self, request: WebhookRequest) -> ChannelInput:
        """Verify a webhook and say what it means.  Raises ChannelError (404, 413, 400, 403)."""
        endpoint = self.endpoint(request)
        params = self.verify(request)
        query = request.query if request.method == "POST" else {}
        return translate(endpoint, params, query, self._now())

    # -- replies -------------------------------------------------------------------------------

    def render(self, outputs: Sequence[AgentOutput], *, turn: int | None = None) -> str:
        return render_twiml(outputs, self.settings, turn=turn)

    def respond(
        self,
        request: WebhookRequest,
        outputs: Sequence[AgentOutput],
        *,
        turn: int | None = None,
        ended: bool = False,
    ) -> ChannelReply:
        """The reply to a webhook after the runtime ran its turn.

        Status callbacks get an empty `<Response/>` (Twilio ignores their body); the Enqueue
        waitUrl gets hold music; every other endpoint gets the turn's TwiML.  When the
        conversation has ended (`ended`) and the outputs do not hang up, a `<Hangup/>` is added,
        so a caller handed back by a finished transfer is not left on an open line.
        """
        endpoint = self.endpoint(request)
        if endpoint in ("status", "dial-status"):
            return self.ack()
        if endpoint == "enqueue-wait":
            return _twiml_reply(hold_twiml(self.settings.transfer_to_agent))
        if ended and not any(isinstance(output, HangUp) for output in outputs):
            outputs = [*outputs, HangUp()]
        return _twiml_reply(self.render(outputs, turn=turn))

    def ack(self) -> ChannelReply:
        return _twiml_reply('<?xml version="1.0" encoding="UTF-8"?><Response />')

    def error_reply(self, error: ChannelError) -> ChannelReply:
        """A plain-text reply for a refused webhook (Twilio shows it in its debugger)."""
        return ChannelReply(error.status, "text/plain; charset=utf-8", f"{error}\n".encode())


def _twiml_reply(twiml: str) -> ChannelReply:
    return ChannelReply(200, TWIML_CONTENT_TYPE, twiml.encode("utf-8"))


# ----------------------------------------------------------------------------------------------
# Translation: verified parameters → what the webhook means.  Pure.


def translate(
    endpoint: str,
    params: Mapping[str, str],
    query: Mapping[str, str],
    now: dt.datetime,
) -> ChannelInput:
    """What one verified Twilio webhook means.  Raises ChannelError 400 naming a bad field."""
    turn = _turn(query)
    if endpoint == "voice":
        return _voice(params)
    if endpoint == "gather":
        return _gather(params, turn, now)
    if endpoint == "status":
        if params.get("ParentCallSid"):
            return _child_status(params, now)
        return _status(params, now)
    if endpoint == "dial-status":
        return _child_status(params, now)
    if endpoint == "dial":
        return _dial(params, query, turn, now)
    if endpoint == "enqueue":
        return _enqueue(params, turn, now)
    if endpoint == "enqueue-wait":
        return _enqueue_wait(params, turn, now)
    raise ChannelError(f"No Twilio webhook named {endpoint!r}.", status=404, field="path")


def _sid(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise ChannelError(f"Missing {name}.", status=400, field=name)
    if not _SID.fullmatch(value):
        raise ChannelError(f"{name} {value[:40]!r} is not a Twilio SID.", status=400, field=name)
    return value


def _turn(query: Mapping[str, str]) -> int | None:
    raw = query.get("turn")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ChannelError(f"The turn query parameter must be a whole number, not {raw[:20]!r}.", status=400, field="turn")
    return int(raw)


def _sequence(params: Mapping[str, str]) -> int | None:
    raw = params.get("SequenceNumber")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ChannelError(f"SequenceNumber must be a whole number, not {raw[:20]!r}.", status=400, field="SequenceNumber")
    return int(raw)


def _timestamp(params: Mapping[str, str], now: dt.datetime) -> dt.datetime:
    raw = params.get("Timestamp")
    if not raw:
        return now
    try:
        stamp = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        raise ChannelError(f"Timestamp {raw[:40]!r} is not an RFC 2822 date.", status=400, field="Timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _duration(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ChannelError(f"{name} must be a whole number of seconds, not {raw[:20]!r}.", status=400, field=name)
    return int(raw)


def _status_key(params: Mapping[str, str], name: str = "CallStatus") -> str:
    value = params.get(name, "")
    if not value:
        raise ChannelError(f"Missing {name}.", status=400, field=name)
    return value.strip().lower()


def _voice(params: Mapping[str, str]) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    return CallStarted(
        conversation_id=call_sid,
        caller=params.get("From") or None,
        callee=params.get("To") or None,
        raw=dict(params),
        event_id=f"twilio:{call_sid}:voice",
    )


def _gather(params: Mapping[str, str], turn: int | None, now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    event_id = f"twilio:{call_sid}:gather:{turn}" if turn is not None else None
    activity_id = event_id or f"twilio:{call_sid}:gather"
    text = (params.get("SpeechResult") or "").strip() or None
    digits = (params.get("Digits") or "").strip() or None
    if digits is not None and not _DIGITS.fullmatch(digits):
        raise ChannelError(f"Digits {digits[:40]!r} holds a key that is not on a phone keypad.", status=400, field="Digits")
    confidence = None
    raw_confidence = (params.get("Confidence") or "").strip()
    if raw_confidence and text is not None:
        try:
            confidence = float(raw_confidence)
        except ValueError:
            confidence = -1.0
        if not 0.0 <= confidence <= 1.0:
            raise ChannelError(f"Confidence must be a number from 0 to 1, not {raw_confidence[:20]!r}.", status=400, field="Confidence")
    data = {"twilio": dict(params)}
    if text is None and digits is None:
        activity = event_activity(
            activity_id, now, ChannelEvent.SILENCE, channel_id=CHANNEL_ID,
            from_id=params.get("From") or None, channel_data=data,
        )
    else:
        activity = message_activity(
            activity_id, now, channel_id=CHANNEL_ID, text=text, dtmf=digits,
            confidence=confidence, from_id=params.get("From") or None, channel_data=data,
        )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _status(params: Mapping[str, str], now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    status = _status_key(params)
    sequence = _sequence(params)
    event_id = f"twilio:{call_sid}:status:{status}" + (f":{sequence}" if sequence is not None else "")
    if status not in TERMINAL_CALL_STATUSES:
        reason = "call in progress" if status in PROGRESS_CALL_STATUSES else f"unknown CallStatus {status[:40]!r}"
        return Acknowledge(call_sid, reason, event_id)
    extra: dict[str, Any] = {"provider": CHANNEL_ID, "call_status": status}
    duration = _duration(params, "CallDuration")
    if duration is not None:
        extra["duration_s"] = duration
    if params.get("SipResponseCode"):
        extra["sip_response_code"] = params["SipResponseCode"][:8]
    if sequence is not None:
        extra["sequence"] = sequence
    activity = end_of_conversation_activity(
        event_id, _timestamp(params, now), Initiator.CALLER, status,
        channel_id=CHANNEL_ID, extra=extra, channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id)


def _child_status(params: Mapping[str, str], now: dt.datetime) -> ChannelInput:
    parent = _sid(params, "ParentCallSid")
    child = _sid(params, "CallSid")
    status = _status_key(params)
    sequence = _sequence(params)
    event_id = f"twilio:{parent}:dial-status:{child}:{status}" + (f":{sequence}" if sequence is not None else "")
    if status in ("in-progress", "answered"):
        outcome = TransferOutcome.ANSWERED
    elif status in DIAL_OUTCOMES and status != "completed":
        outcome = DIAL_OUTCOMES[status]
    else:
        # ringing/initiated, or `completed` (the bridged leg ended: the Dial action follows).
        return Acknowledge(parent, f"transfer leg {status[:40]}", event_id)
    activity = transfer_result_activity(
        event_id, _timestamp(params, now), outcome, f"child-leg:{status}",
        channel_id=CHANNEL_ID, channel_data={"twilio": dict(params)},
    )
    return ActivityInput(parent, activity, event_id=event_id)


def _dial(
    params: Mapping[str, str], query: Mapping[str, str], turn: int | None, now: dt.datetime
) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    failed = query.get("failed")
    dial_status = (params.get("DialCallStatus") or "").strip().lower()
    key: str | None
    if failed is not None and not dial_status:
        # Our own redirect: there was nothing Twilio could dial (see render_twiml).
        outcome, raw = TransferOutcome.FAILED, failed[:80] or "failed"
        key = f"redirect:{turn}" if turn is not None else None
    else:
        if not dial_status:
            raise ChannelError("Missing DialCallStatus.", status=400, field="DialCallStatus")
        outcome = DIAL_OUTCOMES.get(dial_status, TransferOutcome.FAILED)
        raw = dial_status[:40]
        parent_status = (params.get("CallStatus") or "").strip().lower()
        if outcome is not TransferOutcome.ANSWERED and parent_status in ("completed", "canceled"):
            outcome = TransferOutcome.ABANDONED  # the caller left while the transfer rang
        if params.get("DialCallSid"):
            key = _sid(params, "DialCallSid")
        else:
            key = f"turn:{turn}" if turn is not None else None
    event_id = f"twilio:{call_sid}:dial:{key}" if key is not None else None
    activity = transfer_result_activity(
        event_id or f"twilio:{call_sid}:dial", now, outcome, raw,
        channel_id=CHANNEL_ID, channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _enqueue(params: Mapping[str, str], turn: int | None, now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    result = _status_key(params, "QueueResult")
    outcome = QUEUE_OUTCOMES.get(result, TransferOutcome.FAILED)
    event_id = f"twilio:{call_sid}:enqueue:{turn}:{result}" if turn is not None else f"twilio:{call_sid}:enqueue:{result}"
    activity = transfer_result_activity(
        event_id, now, outcome, f"queue:{result[:40]}",
        channel_id=CHANNEL_ID, channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _enqueue_wait(params: Mapping[str, str], turn: int | None, now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    # Twilio re-requests the waitUrl each time its TwiML runs out: one key for all of them.
    event_id = f"twilio:{call_sid}:enqueue-wait:{turn}" if turn is not None else f"twilio:{call_sid}:enqueue-wait"
    activity = transfer_result_activity(
        event_id, now, TransferOutcome.ANSWERED, "queue:waiting",
        channel_id=CHANNEL_ID, channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)
