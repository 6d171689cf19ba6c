"""Variable scopes: Topic, Global, System and Env as Power Fx records, and writes into them.

System variables are partly stored (`state.system`, by dotted name) and partly derived from the
conversation (id, start time, the current activity).  docs/engine.md has the full table.
`Conversation.X` is an alias of `System.Conversation.X` (the docs write `Conversation.EndReason`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from postcall.engine.ending import EndRecord
from postcall.engine.state import ConversationState, Frame
from postcall.engine.values import from_plain, nest
from postcall.powerfx.values import Record, Table, Value


def naive_utc(value: dt.datetime) -> dt.datetime:
    """A DateTime as Power Fx holds it here: naive, in UTC (the engine's local zone)."""
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def end_detail_record(end: EndRecord) -> Record:
    """System.Conversation.EndDetail: the end's detail as a record."""
    transfer = end.transfer
    return Record(
        {
            "Reason": str(end.reason),
            "Initiator": str(end.initiator),
            "Raw": end.raw,
            "Source": end.source,
            "StartTime": naive_utc(end.started_at),
            "EndTime": naive_utc(end.ended_at),
            "DurationSeconds": end.duration_seconds,
            "TransferKind": transfer.kind if transfer else None,
            "TransferTarget": transfer.target if transfer else None,
            "TransferOutcome": str(transfer.outcome) if transfer and transfer.outcome else None,
        }
    )


def set_end_variables(system: dict[str, Value], end: EndRecord) -> None:
    """Set System.Conversation.EndReason, EndTime, EndInitiator and EndDetail."""
    system["Conversation.EndReason"] = str(end.reason)
    system["Conversation.EndTime"] = naive_utc(end.ended_at)
    system["Conversation.EndInitiator"] = str(end.initiator)
    system["Conversation.EndDetail"] = end_detail_record(end)


def activity_variables(activity: Mapping[str, Any] | None) -> dict[str, Value]:
    """System.Activity.* from the current activity's JSON."""
    if not activity:
        return {}
    value = activity.get("value")
    return {
        "Activity.Id": activity.get("id"),
        "Activity.Type": activity.get("type"),
        "Activity.Text": activity.get("text"),
        "Activity.Name": activity.get("name"),
        "Activity.Value": from_plain(value),
        "Activity.ChannelId": activity.get("channel_id"),
        "Activity.Dtmf": activity.get("dtmf"),
        "Activity.Confidence": activity.get("confidence"),
        "Activity.Locale": activity.get("locale"),
        "Activity.From.Id": activity.get("from_id"),
        "Activity.From.Name": activity.get("from_name"),
        "Activity.Channel": channel_option(activity.get("channel_id")),
    }


_EMPTY_TRANSCRIPT = Table([], columns=["Speaker", "Text", "Time"])


# Channel ids of the activities -> Copilot Studio's ChannelId option (System.Activity.Channel).
_CHANNELS = {
    "telephony": "Telephony", "twilio": "Telephony", "events": "Telephony", "voice": "Telephony",
    "msteams": "MsTeams", "directline": "Directline", "webchat": "Directline",
    "facebook": "Facebook", "omnichannel": "Omnichannel",
}


def channel_option(channel_id: object) -> str | None:
    """The ChannelId option name of a channel id ("twilio" -> "Telephony"); None if unknown."""
    return _CHANNELS.get(str(channel_id).lower()) if channel_id else None


def _name_parts(name: str | None) -> tuple[str | None, str | None]:
    parts = (name or "").split()
    if not parts:
        return None, None
    return parts[0], (" ".join(parts[1:]) or None)


def _phone(user_id: str | None) -> str | None:
    """The caller's number on voice: the user id when it is one (+15551234567, sip:...)."""
    if not user_id:
        return None
    digits = user_id.removeprefix("tel:")
    return digits if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 5 else None


def system_record(state: ConversationState, *, bot_name: str, schema_name: str | None = None) -> Record:
    """The whole System record as topics read it."""
    flat: dict[str, Value] = {
        "Conversation.Id": state.conversation_id,
        "Conversation.InTestMode": state.in_test_mode,
        "Conversation.StartTime": naive_utc(state.started_at),
        "Conversation.LocalTimeZone": "UTC",
        "Conversation.EndReason": None,
        "Conversation.EndTime": None,
        "Conversation.EndInitiator": None,
        "Conversation.EndDetail": None,
        "Bot.Name": bot_name,
        "Bot.Id": state.agent,
        "User.Id": state.user_id,
        "User.DisplayName": state.user_name,
        "User.FirstName": _name_parts(state.user_name)[0],
        "User.LastName": _name_parts(state.user_name)[1],
        "User.PhoneNumber": _phone(state.user_id),
        "User.Email": None,
        "User.PrincipalName": None,
        "User.Language": None,
        "User.IsLoggedIn": False,
        "User.AccessToken": None,
        "SignInReason": None,
        "Conversation.CSAT": None,
        "Conversation.Outcome": None,
        "Bot.SchemaName": schema_name,
        "FallbackCount": 0,
        "LastMessage.Text": None,
        "LastMessage.Id": None,
        "Activity.Channel": channel_option(state.channel_id),
        "Error.Code": None,
        "Error.Message": None,
        "Transfer.Outcome": None,
        "Transfer.Raw": None,
        "Transfer.Kind": None,
        "Transfer.Target": None,
        "Transfer.Count": 0,
        "Conversation.Transcript": _EMPTY_TRANSCRIPT,
        "Conversation.TranscriptText": "",
        "Conversation.LastAnswerSources": None,
        "Recognizer.IntentOptions": None,
        "Recognizer.SelectedIntent": None,
        "Recognizer.TriggeringMessage.Text": None,
    }
    flat.update(activity_variables(state.activity))
    flat.update(state.system)
    return nest(flat)


def scope_for(
    state: ConversationState,
    frame: Frame | None,
    *,
    bot_name: str,
    env: Mapping[str, str],
    extra: Mapping[str, Value] | None = None,
    schema_name: str | None = None,
) -> dict[str, Value]:
    """The names a formula can read: Topic, Global, System, Env, and Conversation (alias)."""
    system = system_record(state, bot_name=bot_name, schema_name=schema_name)
    topic_vars: Mapping[str, Value] = frame.variables if frame is not None else {}
    scope: dict[str, Value] = {
        "Topic": nest(topic_vars),
        "Global": nest(state.globals),
        "System": system,
        "Env": Record(dict(env)),
        "Conversation": system.get_field("Conversation"),
    }
    if extra:
        scope.update(extra)
    return scope


def has_value(value: Value) -> bool:
    """Copilot Studio's "variable has a value": not Blank and not empty text."""
    return value is not None and value != ""


def _literal(value: Any) -> Value:
    if isinstance(value, tuple):
        return from_plain(list(value))
    if isinstance(value, Mapping):
        return from_plain(dict(value))
    return value  # type: ignore[no-any-return]


def _store(variables: dict[str, Value], name: str, value: Value) -> None:
    """Store a (possibly dotted) name; `a.b` updates field b of record a when a is a record."""
    if "." in name and name not in variables:
        head, rest = name.split(".", 1)
        current = variables.get(head)
        if isinstance(current, Record):
            variables[head] = _with_path(current, rest.split("."), value)
            return
    variables[name] = value


def _with_path(record: Record, path: list[str], value: Value) -> Record:
    head = path[0]
    if len(path) == 1:
        return record.with_fields(**{head: value})
    child = record.get_field(head)
    child_record = child if isinstance(child, Record) else Record()
    return record.with_fields(**{head: _with_path(child_record, path[1:], value)})


def _lookup(variables: Mapping[str, Value], name: str) -> Value:
    if name in variables:
        return variables[name]
    if "." in name:
        head, rest = name.split(".", 1)
        value = variables.get(head)
        for part in rest.split("."):
            value = value.get_field(part) if isinstance(value, Record) else None
        return value
    return None
