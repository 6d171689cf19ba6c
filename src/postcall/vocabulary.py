"""Words shared by every layer: end reasons and the System variables the runtime provides.

It sits at the bottom so that topics (validation) and the engine (runtime) agree without the
topics package importing the engine.  engine.activity.EndReason has the same end reasons, and
engine.variables.system_record provides exactly the System variables listed here (tests keep
both equal; docs/engine.md has the table).
"""

from __future__ import annotations

from collections.abc import Iterable

KNOWN_END_REASONS: tuple[str, ...] = (
    "CUSTOMER_HANGUP",
    "BLIND_TRANSFER",
    "CCAAS_TRANSFER",
    "AGENT_HANGUP",
    "INACTIVITY_TIMEOUT",
    "MAX_DURATION",
    "CHANNEL_ERROR",
)

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
