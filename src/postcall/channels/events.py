"""The call-events webhook, `POST /channels/events`: any platform's call, as signed JSON events.

A bridge (Vapi, Retell, LiveKit, Pipecat, a SIP gateway...) posts one JSON event per thing that
happens on the call and reads back what the agent does next.  The schema (docs/channels.md has
the full table):

    {"conversation_id": "call-42", "sequence": 3, "type": "caller.said",
     "timestamp": "2026-11-24T17:00:03Z", "text": "I want to cancel", "confidence": 0.91}

Types: `call.started`, `caller.said` (text, confidence), `caller.dtmf` (digits), `caller.silence`,
`caller.unrecognized`, `transfer.answered`, `transfer.failed` (outcome), `call.ended` (initiator,
raw_reason).  `sequence` counts from 1 per conversation; the same conversation and sequence is the
same event, so a replay changes nothing (`event_id`).

Signing: `X-Postcall-Timestamp: <unix seconds>` and `X-Postcall-Signature: v1=<hex>` where hex is
HMAC-SHA256(secret, "{timestamp}.{raw body}").  A timestamp more than the replay window (300 s by
default) away from our clock is refused; signatures are compared with `hmac.compare_digest`.
Several `v1=` values (comma-separated) and several secrets are accepted, for key rotation.

Order of checks: size (413), then signature (403), then the JSON (400, naming the field), so an
unsigned caller learns nothing about the schema.  Free text (`text`, `caller`, `callee`,
`raw_reason`, `metadata`) keeps any Unicode except a NUL or a lone surrogate, each of which becomes
U+FFFD (postcall/safetext.py); fields with a syntax of their own are refused with a 400 instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from postcall.channels.base import (
    DEFAULT_MAX_BODY_BYTES,
    ActivityInput,
    CallStarted,
    ChannelInput,
    ChannelReply,
    WebhookRequest,
    check_body_size,
    end_of_conversation_activity,
    error_reply,
    event_activity,
    message_activity,
    transfer_result_activity,
)
from postcall.engine.activity import (
    AgentOutput,
    ChannelEvent,
    EmitActivity,
    EndReason,
    HangUp,
    Initiator,
    Listen,
    Say,
    Transfer,
    TransferOutcome,
    TransferToPhoneNumber,
)
from postcall.errors import ChannelError, ConfigError
from postcall.safetext import clean_json, clean_text

__all__ = [
    "EVENT_TYPES",
    "CallEvent",
    "EventsChannel",
    "TIMESTAMP_HEADER",
    "SIGNATURE_HEADER",
    "parse_event",
    "render_actions",
    "sign",
    "signature_headers",
    "verify_signature",
]

CHANNEL_ID = "events"
TIMESTAMP_HEADER = "X-Postcall-Timestamp"
SIGNATURE_HEADER = "X-Postcall-Signature"
DEFAULT_REPLAY_WINDOW_S = 300

COMMON_FIELDS = frozenset(
    {"conversation_id", "sequence", "type", "timestamp", "caller", "callee", "metadata"}
)
EVENT_TYPES: Mapping[str, frozenset[str]] = {
    "call.started": frozenset(),
    "caller.said": frozenset({"text", "confidence"}),
    "caller.dtmf": frozenset({"digits"}),
    "caller.silence": frozenset(),
    "caller.unrecognized": frozenset(),
    "transfer.answered": frozenset({"raw_reason"}),
    "transfer.failed": frozenset({"outcome", "raw_reason"}),
    "call.ended": frozenset({"initiator", "raw_reason"}),
}
FAILED_OUTCOMES = ("busy", "no-answer", "failed", "canceled")
INITIATORS = tuple(str(i) for i in Initiator)

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}")
_DIGITS = re.compile(r"[0-9*#A-Da-d]{1,64}")
_MAX_SEQUENCE = 2**53 - 1
_MAX_TEXT = 4096
_MAX_SHORT = 256


# ----------------------------------------------------------------------------------------------
# Signing


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Postcall-Signature` value: `v1=` + hex HMAC-SHA256 over "{timestamp}.{body}"."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both signing headers for `body`, stamped now unless `timestamp` (unix seconds) is given."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


def verify_signature(
    secrets: Sequence[str],
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float,
    window_s: int = DEFAULT_REPLAY_WINDOW_S,
) -> None:
    """Raise ChannelError 403 unless one `v1=` signature matches one secret within the window."""
    if not timestamp_header:
        raise ChannelError(
            f"Missing {TIMESTAMP_HEADER} header.", status=403, field=TIMESTAMP_HEADER
        )
    stamp_text = timestamp_header.strip()
    if not stamp_text.isascii() or not stamp_text.isdigit() or len(stamp_text) > 12:
        raise ChannelError(
            f"{TIMESTAMP_HEADER} must be unix time in whole seconds.",
            status=403,
            field=TIMESTAMP_HEADER,
        )
    if abs(now - int(stamp_text)) > window_s:
        raise ChannelError(
            f"{TIMESTAMP_HEADER} is more than {window_s} s away from the server's clock; "
            "sign each request when sending it.",
            status=403,
            field=TIMESTAMP_HEADER,
        )
    if not signature_header:
        raise ChannelError(
            f"Missing {SIGNATURE_HEADER} header.", status=403, field=SIGNATURE_HEADER
        )
    offered = [
        part.strip()[3:].strip().lower().encode("utf-8", "replace")
        for part in signature_header.split(",")
        if part.strip().startswith("v1=")
    ]
    matched = False
    for secret in secrets:
        expected = sign(secret, stamp_text, body)[3:].encode("ascii")
        for candidate in offered:
            # No early exit: every comparison runs, each in constant time.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise ChannelError(
            f"{SIGNATURE_HEADER} does not match the body and timestamp.",
            status=403,
            field=SIGNATURE_HEADER,
        )


# ----------------------------------------------------------------------------------------------
# The event schema


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One validated call event."""

    conversation_id: str
    sequence: int
    type: str
    timestamp: dt.datetime
    caller: str | None = None
    callee: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    confidence: float | None = None
    digits: str | None = None
    outcome: str | None = None
    initiator: str | None = None
    raw_reason: str | None = None

    @property
    def event_id(self) -> str:
        return f"events:{self.conversation_id}:{self.sequence}"

    def to_input(self, raw: Mapping[str, Any] | None = None) -> ChannelInput:
        """What the event means for the runtime."""
        cid, stamp, eid = self.conversation_id, self.timestamp, self.event_id
        data = {"events": dict(raw) if raw is not None else {}}
        if self.type == "call.started":
            return CallStarted(
                cid, self.caller, self.callee, dict(raw or {}), event_id=eid, sequence=self.sequence
            )
        if self.type in ("caller.said", "caller.dtmf"):
            activity = message_activity(
                eid,
                stamp,
                channel_id=CHANNEL_ID,
                text=self.text,
                dtmf=self.digits,
                confidence=self.confidence,
                from_id=self.caller,
                channel_data=data,
            )
        elif self.type in ("caller.silence", "caller.unrecognized"):
            name = (
                ChannelEvent.SILENCE
                if self.type == "caller.silence"
                else ChannelEvent.UNRECOGNIZED_SPEECH
            )
            activity = event_activity(
                eid, stamp, name, channel_id=CHANNEL_ID, from_id=self.caller, channel_data=data
            )
        elif self.type in ("transfer.answered", "transfer.failed"):
            outcome = (
                TransferOutcome.ANSWERED
                if self.type == "transfer.answered"
                else TransferOutcome(self.outcome or "failed")
            )
            activity = transfer_result_activity(
                eid,
                stamp,
                outcome,
                self.raw_reason or self.type,
                channel_id=CHANNEL_ID,
                channel_data=data,
            )
        else:  # call.ended
            activity = end_of_conversation_activity(
                eid,
                stamp,
                Initiator(self.initiator or "system"),
                self.raw_reason or "",
                channel_id=CHANNEL_ID,
                extra={"provider": CHANNEL_ID, "sequence": self.sequence},
                channel_data=data,
            )
        return ActivityInput(cid, activity, event_id=eid, sequence=self.sequence)


def _bad(message: str, field: str) -> ChannelError:
    return ChannelError(clean_text(message), status=400, field=clean_text(field))


def _text(data: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    if name not in data or data[name] is None:
        if required:
            raise _bad(f"Field {name!r} is required.", name)
        return None
    value = data[name]
    if not isinstance(value, str):
        raise _bad(f"Field {name!r} must be a string, not {type(value).__name__}.", name)
    if len(value) > limit:
        raise _bad(f"Field {name!r} is {len(value)} characters; at most {limit} are allowed.", name)
    if required and not value.strip():
        raise _bad(f"Field {name!r} must not be empty.", name)
    return clean_text(value)  # a NUL or lone surrogate becomes U+FFFD (postcall/safetext.py)


def _required(data: Mapping[str, Any], name: str, limit: int) -> str:
    value = _text(data, name, limit, required=True)
    if value is None:  # _text raised already; this keeps the type checker informed
        raise _bad(f"Field {name!r} is required.", name)
    return value


def parse_event(body: bytes) -> tuple[CallEvent, dict[str, Any]]:
    """Validate a JSON body; return the event and the decoded object.  Raises ChannelError 400."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad("The body is not UTF-8 text.", "body") from None
    except json.JSONDecodeError as exc:
        raise _bad(
            f"The body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.", "body"
        ) from None
    except RecursionError:
        raise _bad("The body is nested too deeply.", "body") from None
    except ValueError:  # e.g. an integer with more digits than Python converts
        raise _bad("The body holds a number that cannot be read.", "body") from None
    if not isinstance(data, dict):
        raise _bad(f"The body must be a JSON object, not {type(data).__name__}.", "body")

    kind = _required(data, "type", 64)
    if kind not in EVENT_TYPES:
        raise _bad(f"Field 'type' is {kind!r}; expected one of {', '.join(EVENT_TYPES)}.", "type")
    allowed = COMMON_FIELDS | EVENT_TYPES[kind]
    for name in data:
        if name not in allowed:
            raise _bad(f"Field {name!r} is not part of a {kind!r} event.", str(name)[:64])

    cid = _required(data, "conversation_id", 128)
    if not _CONVERSATION_ID.fullmatch(cid):
        raise _bad(
            "Field 'conversation_id' must start with a letter or digit and hold only letters, "
            "digits and _ . : @ + - (at most 128).",
            "conversation_id",
        )
    sequence = data.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise _bad(
            "Field 'sequence' must be a whole number (1 for the first event of a conversation).",
            "sequence",
        )
    if not 1 <= sequence <= _MAX_SEQUENCE:
        raise _bad(
            f"Field 'sequence' must be from 1 to {_MAX_SEQUENCE}, not {sequence}.", "sequence"
        )
    stamp_text = _required(data, "timestamp", 64)
    try:
        stamp = dt.datetime.fromisoformat(stamp_text)
    except ValueError:
        raise _bad(
            f"Field 'timestamp' {stamp_text!r} is not an ISO 8601 date and time.", "timestamp"
        ) from None
    if stamp.tzinfo is None:
        raise _bad(
            "Field 'timestamp' needs a time zone (for example 2026-11-24T17:00:03Z).", "timestamp"
        )
    metadata = data.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise _bad("Field 'metadata' must be a JSON object.", "metadata")
    metadata = clean_json(metadata)
    data = clean_json(data)  # the raw event is kept in the activity's channel data

    event = CallEvent(
        conversation_id=cid,
        sequence=sequence,
        type=kind,
        timestamp=stamp.astimezone(dt.UTC),
        caller=_text(data, "caller", _MAX_SHORT),
        callee=_text(data, "callee", _MAX_SHORT),
        metadata=metadata,
        raw_reason=_text(data, "raw_reason", _MAX_SHORT),
    )
    if kind == "caller.said":
        text = _required(data, "text", _MAX_TEXT)
        confidence = data.get("confidence")
        if confidence is not None:
            if (
                isinstance(confidence, bool)
                or not isinstance(confidence, int | float)
                or not (math.isfinite(confidence) and 0 <= confidence <= 1)
            ):
                raise _bad("Field 'confidence' must be a number from 0 to 1.", "confidence")
            confidence = float(confidence)
        event = _replace(event, text=text, confidence=confidence)
    elif kind == "caller.dtmf":
        digits = _required(data, "digits", 64)
        if not _DIGITS.fullmatch(digits):
            raise _bad("Field 'digits' must hold only the keys 0-9, *, # and A-D.", "digits")
        event = _replace(event, digits=digits)
    elif kind == "transfer.failed":
        outcome = _required(data, "outcome", 16)
        if outcome not in FAILED_OUTCOMES:
            raise _bad(
                f"Field 'outcome' is {outcome!r}; expected one of {', '.join(FAILED_OUTCOMES)}.",
                "outcome",
            )
        event = _replace(event, outcome=outcome)
    elif kind == "call.ended":
        initiator = _required(data, "initiator", 16)
        if initiator not in INITIATORS:
            raise _bad(
                f"Field 'initiator' is {initiator!r}; expected one of {', '.join(INITIATORS)}.",
                "initiator",
            )
        event = _replace(event, initiator=initiator)
    return event, data


def _replace(event: CallEvent, **changes: Any) -> CallEvent:
    values = {name: getattr(event, name) for name in CallEvent.__dataclass_fields__}
    values.update(changes)
    return CallEvent(**values)


# ----------------------------------------------------------------------------------------------
# The reply: what the agent does next


def render_actions(
    outputs: Sequence[AgentOutput],
    *,
    ended: bool | None = None,
    end_reason: EndReason | str | None = None,
) -> dict[str, Any]:
    """The agent's outputs as the webhook's JSON reply.

    `ended` defaults to whether the outputs hang up; the runtime passes the truth (a transfer
    that was answered also ends the conversation) with its `end_reason`.
    """
    actions: list[dict[str, Any]] = []
    for output in outputs:
        if isinstance(output, Say):
            actions.append(
                {
                    "type": "say",
                    "text": output.text,
                    "speak": output.speak,
                    "allow_barge_in": output.allow_barge_in,
                }
            )
        elif isinstance(output, Listen):
            actions.append(
                {
                    "type": "listen",
                    "speech": output.speech,
                    "dtmf": output.dtmf,
                    "dtmf_max_digits": output.dtmf_max_digits,
                    "dtmf_min_digits": output.dtmf_min_digits,
                    "dtmf_finish_key": output.dtmf_finish_key,
                    "silence_timeout_ms": output.silence_timeout_ms,
                    "speech_end_timeout_ms": output.speech_end_timeout_ms,
                    "interdigit_timeout_ms": output.interdigit_timeout_ms,
                    "allow_barge_in": output.allow_barge_in,
                }
            )
        elif isinstance(output, Transfer):
            target = output.target
            if isinstance(target, TransferToPhoneNumber):
                described: dict[str, Any] = {
                    "type": "phone_number",
                    "phone_number": target.phone_number,
                    "sip_uui_header": target.sip_uui_header,
                    "sipx_headers": dict(target.sipx_headers),
                    "dtmf_sequence": target.dtmf_sequence,
                }
            else:
                described = {
                    "type": "agent",
                    "message_to_agent": target.message_to_agent,
                    "context": dict(target.context),
                }
            actions.append({"type": "transfer", "target": described})
        elif isinstance(output, HangUp):
            actions.append({"type": "hangup"})
        elif isinstance(output, EmitActivity):
            actions.append(
                {
                    "type": "event",
                    "activity_type": str(output.type),
                    "name": output.name,
                    "value": output.value,
                }
            )
    if ended is None:
        ended = any(isinstance(output, HangUp) for output in outputs)
    return {
        "actions": actions,
        "ended": ended,
        "end_reason": str(end_reason) if end_reason else None,
    }


# ----------------------------------------------------------------------------------------------
# The channel


class EventsChannel:
    """The call-events webhook: verifies, validates, translates, renders.  Holds no call state."""

    name = CHANNEL_ID

    def __init__(
        self,
        secret: str | Sequence[str],
        *,
        path: str = "/channels/events",
        replay_window_s: int = DEFAULT_REPLAY_WINDOW_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        now: Callable[[], float] = time.time,
    ) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets or not all(isinstance(s, str) and s for s in secrets):
            raise ConfigError("The call-events webhook needs a non-empty signing secret.")
        self._secrets = secrets
        self.path = "/" + path.strip("/")
        self.replay_window_s = replay_window_s
        self.max_body_bytes = max_body_bytes
        self._now = now

    def __repr__(self) -> str:
        return f"EventsChannel(path={self.path!r})"  # never the secret

    def verify(self, request: WebhookRequest) -> None:
        """Check method, path, size and signature.  Raises ChannelError 400/404/413/403."""
        if request.path.rstrip("/") != self.path:
            raise ChannelError(
                f"No call-events webhook at {request.path!r}.", status=404, field="path"
            )
        if request.method != "POST":
            raise ChannelError(
                f"The call-events webhook takes POST, not {request.method!r}.",
                status=400,
                field="method",
            )
        check_body_size(request.body, self.max_body_bytes)
        verify_signature(
            self._secrets,
            request.header(TIMESTAMP_HEADER),
            request.header(SIGNATURE_HEADER),
            request.body,
            now=self._now(),
            window_s=self.replay_window_s,
        )
        content_type = (request.header("Content-Type") or "application/json").lower()
        if "json" not in content_type:
            raise ChannelError(
                f"Content-Type must be application/json, not {content_type[:60]!r}.",
                status=400,
                field="Content-Type",
            )

    def parse(self, request: WebhookRequest) -> ChannelInput:
        """Verify and translate one event.  Raises ChannelError (400, 403, 404, 413)."""
        self.verify(request)
        event, raw = parse_event(request.body)
        return event.to_input(raw)

    def respond(
        self,
        outputs: Sequence[AgentOutput],
        *,
        ended: bool | None = None,
        end_reason: EndReason | str | None = None,
    ) -> ChannelReply:
        payload = render_actions(outputs, ended=ended, end_reason=end_reason)
        body = json.dumps(payload, default=str, separators=(",", ":")).encode("utf-8")
        return ChannelReply(200, "application/json", body)

    def error_reply(self, error: ChannelError) -> ChannelReply:
        return error_reply(error)
