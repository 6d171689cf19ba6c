"""Twilio webhooks translated: verified parameters in, what they mean for the runtime out.

Pure functions of the parameters Twilio signed (`translate`), kept apart from the channel that
checks signatures and renders TwiML (`postcall.channels.twilio`).  Parameter names and values
are Twilio's own: the TwiML Voice request parameters, `<Gather>`'s SpeechResult/Confidence/
Digits, `<Dial>`'s DialCallStatus, `<Enqueue>`'s QueueResult and the status callbacks'
CallStatus/SequenceNumber/Timestamp.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from typing import Any

from postcall.channels.base import (
    Acknowledge,
    ActivityInput,
    CallStarted,
    ChannelInput,
    end_of_conversation_activity,
    event_activity,
    message_activity,
    transfer_result_activity,
)
from postcall.errors import ChannelError
from postcall.vocabulary import ChannelEvent, Initiator, TransferOutcome

__all__ = ["DIAL_OUTCOMES", "ENDPOINTS", "QUEUE_OUTCOMES", "TERMINAL_CALL_STATUSES", "translate"]

CHANNEL_ID = "twilio"
ENDPOINTS = ("voice", "gather", "status", "dial", "dial-status", "enqueue", "enqueue-wait")

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
        raise ChannelError(
            f"The turn query parameter must be a whole number, not {raw[:20]!r}.",
            status=400,
            field="turn",
        )
    return int(raw)


def _sequence(params: Mapping[str, str]) -> int | None:
    raw = params.get("SequenceNumber")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ChannelError(
            f"SequenceNumber must be a whole number, not {raw[:20]!r}.",
            status=400,
            field="SequenceNumber",
        )
    return int(raw)


def _timestamp(params: Mapping[str, str], now: dt.datetime) -> dt.datetime:
    raw = params.get("Timestamp")
    if not raw:
        return now
    try:
        stamp = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        raise ChannelError(
            f"Timestamp {raw[:40]!r} is not an RFC 2822 date.", status=400, field="Timestamp"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _duration(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ChannelError(
            f"{name} must be a whole number of seconds, not {raw[:20]!r}.", status=400, field=name
        )
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
        raise ChannelError(
            f"Digits {digits[:40]!r} holds a key that is not on a phone keypad.",
            status=400,
            field="Digits",
        )
    confidence = None
    raw_confidence = (params.get("Confidence") or "").strip()
    if raw_confidence and text is not None:
        try:
            confidence = float(raw_confidence)
        except ValueError:
            confidence = -1.0
        if not 0.0 <= confidence <= 1.0:
            raise ChannelError(
                f"Confidence must be a number from 0 to 1, not {raw_confidence[:20]!r}.",
                status=400,
                field="Confidence",
            )
    data = {"twilio": dict(params)}
    if text is None and digits is None:
        activity = event_activity(
            activity_id,
            now,
            ChannelEvent.SILENCE,
            channel_id=CHANNEL_ID,
            from_id=params.get("From") or None,
            channel_data=data,
        )
    else:
        activity = message_activity(
            activity_id,
            now,
            channel_id=CHANNEL_ID,
            text=text,
            dtmf=digits,
            confidence=confidence,
            from_id=params.get("From") or None,
            channel_data=data,
        )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _status(params: Mapping[str, str], now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    status = _status_key(params)
    sequence = _sequence(params)
    event_id = f"twilio:{call_sid}:status:{status}" + (
        f":{sequence}" if sequence is not None else ""
    )
    if status not in TERMINAL_CALL_STATUSES:
        reason = (
            "call in progress"
            if status in PROGRESS_CALL_STATUSES
            else f"unknown CallStatus {status[:40]!r}"
        )
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
        event_id,
        _timestamp(params, now),
        Initiator.CALLER,
        status,
        channel_id=CHANNEL_ID,
        extra=extra,
        channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id)


def _child_status(params: Mapping[str, str], now: dt.datetime) -> ChannelInput:
    parent = _sid(params, "ParentCallSid")
    child = _sid(params, "CallSid")
    status = _status_key(params)
    sequence = _sequence(params)
    event_id = f"twilio:{parent}:dial-status:{child}:{status}" + (
        f":{sequence}" if sequence is not None else ""
    )
    if status in ("in-progress", "answered"):
        outcome = TransferOutcome.ANSWERED
    elif status in DIAL_OUTCOMES and status != "completed":
        outcome = DIAL_OUTCOMES[status]
    else:
        # ringing/initiated, or `completed` (the bridged leg ended: the Dial action follows).
        return Acknowledge(parent, f"transfer leg {status[:40]}", event_id)
    activity = transfer_result_activity(
        event_id,
        _timestamp(params, now),
        outcome,
        f"child-leg:{status}",
        channel_id=CHANNEL_ID,
        channel_data={"twilio": dict(params)},
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
        event_id or f"twilio:{call_sid}:dial",
        now,
        outcome,
        raw,
        channel_id=CHANNEL_ID,
        channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _enqueue(params: Mapping[str, str], turn: int | None, now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    result = _status_key(params, "QueueResult")
    outcome = QUEUE_OUTCOMES.get(result, TransferOutcome.FAILED)
    event_id = (
        f"twilio:{call_sid}:enqueue:{turn}:{result}"
        if turn is not None
        else f"twilio:{call_sid}:enqueue:{result}"
    )
    activity = transfer_result_activity(
        event_id,
        now,
        outcome,
        f"queue:{result[:40]}",
        channel_id=CHANNEL_ID,
        channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)


def _enqueue_wait(params: Mapping[str, str], turn: int | None, now: dt.datetime) -> ChannelInput:
    call_sid = _sid(params, "CallSid")
    # Twilio re-requests the waitUrl each time its TwiML runs out: one key for all of them.
    event_id = (
        f"twilio:{call_sid}:enqueue-wait:{turn}"
        if turn is not None
        else f"twilio:{call_sid}:enqueue-wait"
    )
    activity = transfer_result_activity(
        event_id,
        now,
        TransferOutcome.ANSWERED,
        "queue:waiting",
        channel_id=CHANNEL_ID,
        channel_data={"twilio": dict(params)},
    )
    return ActivityInput(call_sid, activity, event_id=event_id, turn=turn)
