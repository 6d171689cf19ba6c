"""Words shared by every layer, defined once: end reasons, initiators, activity types, transfer
outcomes, channel events, action kinds, stored activity and output kinds, run statuses, what a
conversation waits for, action error categories, and the System variables the runtime provides.

It sits at the bottom so that topics (validation), the engine (runtime), channels, the store's
readers, the API and the console agree without importing each other.  Wire strings are copied
verbatim (Bot Framework activity types in camelCase, Copilot Studio end reasons in
UPPER_SNAKE).  engine.variables.system_record provides exactly the System variables listed
here (a test keeps them equal; docs/engine.md has the table).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Literal


class ActivityType(enum.StrEnum):
    MESSAGE = "message"
    EVENT = "event"
    CONVERSATION_UPDATE = "conversationUpdate"
    END_OF_CONVERSATION = "endOfConversation"
    INVOKE = "invoke"
    TYPING = "typing"
    HANDOFF = "handoff"
    TRACE = "trace"


class EndReason(enum.StrEnum):
    """Why a conversation ended: the value of System.Conversation.EndReason."""

    CUSTOMER_HANGUP = "CUSTOMER_HANGUP"
    BLIND_TRANSFER = "BLIND_TRANSFER"
    CCAAS_TRANSFER = "CCAAS_TRANSFER"
    AGENT_HANGUP = "AGENT_HANGUP"
    INACTIVITY_TIMEOUT = "INACTIVITY_TIMEOUT"
    MAX_DURATION = "MAX_DURATION"
    CHANNEL_ERROR = "CHANNEL_ERROR"


KNOWN_END_REASONS: tuple[str, ...] = tuple(r.value for r in EndReason)
"""The end reasons as strings, in the order the console and the docs list them."""


class Initiator(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class TransferOutcome(enum.StrEnum):
    """How the channel answered a transfer.  Only ANSWERED hands the call over."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    ABANDONED = "abandoned"  # the caller hung up while the transfer still rang


class ChannelEvent(enum.StrEnum):
    """Reserved names of `event` activities that channels send to the engine."""

    SILENCE = "postcall.silence"  # the caller said nothing before the listen timeout
    UNRECOGNIZED_SPEECH = "postcall.unrecognizedSpeech"  # speech heard, nothing recognised
    TRANSFER_RESULT = "postcall.transferResult"  # value: {"outcome": TransferOutcome, "raw": str}
    WATCHDOG = "postcall.watchdog"  # value: {"reason": "INACTIVITY_TIMEOUT" | "MAX_DURATION"}
    INACTIVITY = "postcall.inactivity"  # an OnInactivity trigger's duration has passed (no value)


ActionKind = Literal["http", "flow", "log", "model"]
"""What an ActionRequest asks for: an HTTP request, a flow (or connector) run, a telemetry event, a model call."""

class StoredKind(enum.StrEnum):
    """Types of stored activities the engine writes besides its outputs (the console explains turns)."""

    RECOGNITION = "Recognition"  # why a topic was chosen: the recognizer's candidates
    NOTE = "Note"  # what failed out of the caller's hearing (a model call)


class OutputKind(enum.StrEnum):
    """An agent output's stored type: the class name of each engine.activity.AgentOutput (a test keeps them equal)."""

    SAY = "Say"
    LISTEN = "Listen"
    TRANSFER = "Transfer"
    HANG_UP = "HangUp"
    EMIT_ACTIVITY = "EmitActivity"


RunStatus = Literal["pending", "running", "succeeded", "failed"]
"""A post-call run's status in the store (runs.status)."""

WaitingFor = Literal["end", "action", "transfer", "caller"]
"""What a conversation waits for: it is over, an action's result, a ringing transfer, the caller."""

ErrorCategory = Literal[
    "timeout", "connection", "http_status", "refused_host", "bad_request", "internal",
    "bad_response", "bad_output", "flow_error", "budget", "refusal", "content_filter", "no_model", "unknown",
]
"""Why an action failed (ActionResult.error_category; stored in runs' step records)."""

# System.<path> -> its Power Fx type.  "Record" and "Any" values may have any fields below them
# (System.Activity.Value.x, System.Conversation.EndDetail.Reason).
SYSTEM_VARIABLES: dict[str, str] = {
    "Conversation.Id": "Text",
    "Conversation.InTestMode": "Boolean",
    "Conversation.StartTime": "DateTime",
    "Conversation.LocalTimeZone": "Text",
    "Conversation.EndReason": "Text",
    "Conversation.EndTime": "DateTime",
    "Conversation.EndInitiator": "Text",
    "Conversation.EndDetail": "Record",
    "Conversation.Transcript": "Table",
    "Conversation.TranscriptText": "Text",
    "Conversation.LastAnswerSources": "Text",
    "Activity.Id": "Text",
    "Activity.Type": "Text",
    "Activity.Text": "Text",
    "Activity.Name": "Text",
    "Activity.Value": "Any",
    "Activity.ChannelId": "Text",
    "Activity.Dtmf": "Text",
    "Activity.Confidence": "Number",
    "Activity.Locale": "Text",
    "Activity.From.Id": "Text",
    "Activity.From.Name": "Text",
    "Activity.Channel": "Text",
    "LastMessage.Text": "Text",
    "LastMessage.Id": "Text",
    "FallbackCount": "Number",
    "Error.Code": "Text",
    "Error.Message": "Text",
    "User.Id": "Text",
    "User.DisplayName": "Text",
    "User.FirstName": "Text",
    "User.LastName": "Text",
    "User.PhoneNumber": "Text",
    "User.Email": "Text",
    "User.PrincipalName": "Text",
    "User.Language": "Text",
    "User.IsLoggedIn": "Boolean",
    "User.AccessToken": "Text",
    "SignInReason": "Text",
    "Conversation.CSAT": "Number",
    "Conversation.Outcome": "Text",
    "Bot.Name": "Text",
    "Bot.Id": "Text",
    "Bot.SchemaName": "Text",
    "Transfer.Kind": "Text",
    "Transfer.Target": "Text",
    "Transfer.Outcome": "Text",
    "Transfer.Raw": "Text",
    "Transfer.Count": "Number",
    # Multiple Topics Matched (engine._select_intent sets them; Blank before any disambiguation).
    "Recognizer.IntentOptions": "Table",  # DisplayName, TopicId, TriggerId, Score; best first
    "Recognizer.SelectedIntent": "Record",  # the chosen row of IntentOptions
    "Recognizer.TriggeringMessage.Text": "Text",  # the caller's words that were ambiguous
}

_OPEN_TYPES = frozenset({"Record", "Any"})


def is_system_path(path: str, extra: Iterable[str] = ()) -> bool:
    """Whether `System.<path>` reads something the runtime provides: a listed variable, a record
    above listed variables (`Activity.From`), or a field below a Record/Any variable; `extra`
    adds paths topics write themselves."""
    known = {**SYSTEM_VARIABLES, **{p: "Any" for p in extra}}
    if path in known:
        return True
    prefix = path + "."
    if any(k.startswith(prefix) for k in known):
        return True
    return any(path.startswith(k + ".") for k, t in known.items() if t in _OPEN_TYPES)
