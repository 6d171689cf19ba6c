"""The agent's outputs as TwiML, built with the twilio package's `VoiceResponse`.

One agent turn becomes one TwiML document:

* `Say` → `<Say voice language>`; the `speak` variant wins over `text` where given.  SSML is
  passed to Twilio only for voices that read it (Amazon Polly `Polly.*` and Google `Google.*`)
  and only the tags Twilio accepts inside `<Say>`; other tags are unwrapped to their text.  For
  the basic voices, or SSML that does not parse, the speech is reduced to plain text.
* `Listen` → `<Gather input action actionOnEmptyResult="true" ...>`.  The trailing `Say`s that
  allow barge-in are nested inside it, so the caller can interrupt them.
* `Transfer(TransferToPhoneNumber)` → `<Dial action callerId timeout><Number sendDigits
  statusCallbackEvent="answered" statusCallback>` or `<Sip>` (UUI and X-headers as URI headers).
* `Transfer(TransferToAgent)` → `<Enqueue workflowSid waitUrl action><Task>{json}</Task>` or a
  `<Dial>` to the contact centre's number or SIP URI, as the agent is configured.
* `HangUp` → `<Hangup/>`.

A turn that ends with none of Listen, Transfer or HangUp is rendered as if it ended with a
default Listen: a TwiML document that runs out of verbs makes Twilio hang up, and the call would
end as if the caller had left.  Outputs after the first Listen, Transfer or HangUp are ignored;
`EmitActivity` outputs have no voice form and are skipped.
"""

from __future__ import annotations

import html
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

from twilio.twiml import GenericNode, TwiML
from twilio.twiml.voice_response import VoiceResponse

from postcall.engine.activity import (
    AgentOutput,
    EmitActivity,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.errors import ConfigError

__all__ = [
    "AgentTransferSettings",
    "TwilioSettings",
    "TwilioVoiceSettings",
    "hold_twiml",
    "render_twiml",
    "sip_uri_with_headers",
    "speech_for_say",
]

DEFAULT_HOLD_MUSIC_URL = "https://s3.amazonaws.com/com.twilio.sounds.music/index.xml"

# The SSML elements Twilio accepts inside <Say> (twilio.twiml.voice_response's Ssml* nouns).
SSML_TAGS = frozenset(
    {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"


@dataclass(frozen=True, slots=True)
class TwilioVoiceSettings:
    """How the agent speaks and listens on Twilio (agent.yaml `voice:`).

    `voice` is a Twilio voice name (`Polly.Joanna-Neural`, `Google.en-US-Neural2-F`, `alice`...);
    None lets Twilio choose.  `speech_timeout` and `input_timeout_s` are the Gather defaults
    used when a Listen does not set its own.
    """

    voice: str | None = None
    language: str | None = "en-US"
    speech_timeout: str = "auto"
    input_timeout_s: int = 5
    speech_model: str | None = None
    hints: str | None = None
    profanity_filter: bool | None = None

    @property
    def reads_ssml(self) -> bool:
        return bool(self.voice) and str(self.voice).split(".", 1)[0] in {"Polly", "Google"}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "voice") -> TwilioVoiceSettings:
        known = {
            "voice",
            "language",
            "speech_timeout",
            "input_timeout_s",
            "speech_model",
            "hints",
            "profanity_filter",
        }
        _reject_unknown(data, known, where)
        timeout = data.get("input_timeout_s", 5)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
            raise ConfigError(
                f"{where}.input_timeout_s must be a positive whole number of seconds, not {timeout!r}."
            )
        speech_timeout = str(data.get("speech_timeout", "auto"))
        if speech_timeout != "auto" and not (speech_timeout.isdigit() and int(speech_timeout) > 0):
            raise ConfigError(
                f"{where}.speech_timeout must be 'auto' or a positive number of seconds, not {speech_timeout!r}."
            )
        profanity = data.get("profanity_filter")
        if profanity is not None and not isinstance(profanity, bool):
            raise ConfigError(f"{where}.profanity_filter must be true or false, not {profanity!r}.")
        return cls(
            voice=_opt_str(data, "voice", where),
            language=_opt_str(data, "language", where) if "language" in data else "en-US",
            speech_timeout=speech_timeout,
            input_timeout_s=timeout,
            speech_model=_opt_str(data, "speech_model", where),
            hints=_opt_str(data, "hints", where),
            profanity_filter=profanity,
        )


@dataclass(frozen=True, slots=True)
class AgentTransferSettings:
    """Where TransferToAgent goes (agent.yaml `transfer_to_agent:`).

    `mode: enqueue` puts the call on a TaskRouter workflow (`workflow_sid`), the transfer context
    in the task's attributes; `mode: dial` dials `target`, a phone number or a `sip:` URI, the
    context in SIP X-headers (a phone number cannot carry it).
    """

    mode: Literal["enqueue", "dial"]
    workflow_sid: str | None = None
    target: str | None = None
    hold_music_url: str = DEFAULT_HOLD_MUSIC_URL

    def __post_init__(self) -> None:
        if self.mode not in ("enqueue", "dial"):
            raise ConfigError(
                f"transfer_to_agent.mode must be 'enqueue' or 'dial', not {self.mode!r}."
            )
        if self.mode == "enqueue" and not self.workflow_sid:
            raise ConfigError("transfer_to_agent.workflow_sid is required with mode 'enqueue'.")
        if self.mode == "dial" and not self.target:
            raise ConfigError("transfer_to_agent.target is required with mode 'dial'.")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], where: str = "transfer_to_agent"
    ) -> AgentTransferSettings:
        _reject_unknown(data, {"mode", "workflow_sid", "target", "hold_music_url"}, where)
        mode = data.get("mode")
        if mode not in ("enqueue", "dial"):
            raise ConfigError(f"{where}.mode must be 'enqueue' or 'dial', not {mode!r}.")
        return cls(
            mode=mode,
            workflow_sid=_opt_str(data, "workflow_sid", where),
            target=_opt_str(data, "target", where),
            hold_music_url=_opt_str(data, "hold_music_url", where) or DEFAULT_HOLD_MUSIC_URL,
        )


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    """Everything rendering needs.  `base_url` is the public origin ("" gives root-relative URLs,
    which Twilio resolves against the URL it requested)."""

    voice: TwilioVoiceSettings = field(default_factory=TwilioVoiceSettings)
    transfer_to_agent: AgentTransferSettings | None = None
    caller_id: str | None = None
    ring_timeout_s: int = 30
    base_url: str = ""
    base_path: str = "/channels/twilio"

    def url(self, endpoint: str, turn: int | None = None, **query: str) -> str:
        params: dict[str, str] = {}
        if turn is not None:
            params["turn"] = str(turn)
        params.update(query)
        suffix = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url.rstrip('/')}{self.base_path.rstrip('/')}/{endpoint}{suffix}"


def _reject_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where} has unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}."
        )


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be text, not {value!r}.")
    return value


# ----------------------------------------------------------------------------------------------
# Rendering


def render_twiml(
    outputs: Sequence[AgentOutput],
    settings: TwilioSettings | None = None,
    *,
    turn: int | None = None,
) -> str:
    """One agent turn as a TwiML document (see the module docstring for the mapping).

    `turn` is a per-conversation counter the server increments; it rides on the action URLs so
    that a retried action callback can be recognised (`ActivityInput.event_id`).
    """
    settings = settings or TwilioSettings()
    response = VoiceResponse()
    says: list[Say] = []
    for output in outputs:
        if isinstance(output, Say):
            says.append(output)
        elif isinstance(output, Listen):
            _gather(response, says, output, settings, turn)
            return _xml_safe(str(response))
        elif isinstance(output, Transfer):
            _flush_says(response, says, settings.voice)
            _transfer(response, output, settings, turn)
            return _xml_safe(str(response))
        elif isinstance(output, HangUp):
            _flush_says(response, says, settings.voice)
            response.hangup()
            return _xml_safe(str(response))
        elif isinstance(output, EmitActivity):
            continue
    _gather(response, says, Listen(), settings, turn)
    return _xml_safe(str(response))


# Characters XML 1.0 cannot hold at all (ElementTree writes them unescaped, and Twilio would
# refuse the document); they are never part of markup, so removing them from the text is safe.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(document: str) -> str:
    return _NOT_XML.sub("", document)


def hold_twiml(settings: AgentTransferSettings | None) -> str:
    """The reply to Enqueue's waitUrl: hold music while the caller waits for the contact centre."""
    response = VoiceResponse()
    url = settings.hold_music_url if settings else DEFAULT_HOLD_MUSIC_URL
    if url.lower().split("?", 1)[0].endswith(".xml"):
        response.redirect(url, method="GET")
    else:
        response.play(url)
    return _xml_safe(str(response))


def _flush_says(response: TwiML, says: list[Say], voice: TwilioVoiceSettings) -> None:
    for say in says:
        response.append(_say_node(say, voice))
    says.clear()


def _gather(
    response: TwiML,
    says: list[Say],
    listen: Listen,
    settings: TwilioSettings,
    turn: int | None,
) -> None:
    voice = settings.voice
    # The trailing run of Says that allow barge-in goes inside <Gather>; the rest plays before it.
    nested: list[Say] = []
    if listen.allow_barge_in:
        while says and says[-1].allow_barge_in:
            nested.insert(0, says.pop())
    _flush_says(response, says, voice)
    kinds = [name for name, wanted in (("dtmf", listen.dtmf), ("speech", listen.speech)) if wanted]
    timeout_ms = listen.silence_timeout_ms or listen.interdigit_timeout_ms
    gather = response.gather(
        input=" ".join(kinds) or "dtmf speech",
        action=settings.url("gather", turn),
        method="POST",
        timeout=_seconds(timeout_ms) if timeout_ms else voice.input_timeout_s,
        speech_timeout=(
            _seconds(listen.speech_end_timeout_ms)
            if listen.speech_end_timeout_ms
            else voice.speech_timeout
        )
        if listen.speech
        else None,
        num_digits=listen.dtmf_max_digits if listen.dtmf and listen.dtmf_max_digits else None,
        finish_on_key=listen.dtmf_finish_key if listen.dtmf else None,
        barge_in=listen.allow_barge_in,
        action_on_empty_result=True,
        language=voice.language if listen.speech else None,
        speech_model=voice.speech_model if listen.speech else None,
        hints=voice.hints if listen.speech else None,
        profanity_filter=voice.profanity_filter if listen.speech else None,
    )
    for say in nested:
        gather.append(_say_node(say, voice))


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))


def _transfer(
    response: TwiML, transfer: Transfer, settings: TwilioSettings, turn: int | None
) -> None:
    target = transfer.target
    if isinstance(target, TransferToPhoneNumber):
        number = _xml_safe(target.phone_number).strip()
        if number.lower().startswith("tel:"):
            number = number[4:]
        if not number:
            # Nothing to dial: go straight to the Dial action URL, which reports a failed transfer.
            response.redirect(settings.url("dial", turn, failed="invalid-target"), method="POST")
            return
        headers = list(_x_headers(target.sipx_headers))
        if target.sip_uui_header:
            headers.insert(0, ("User-to-User", _xml_safe(target.sip_uui_header)))
        _dial(response, number, headers, target.dtmf_sequence, settings, turn)
        return
    agent = settings.transfer_to_agent
    if agent is None:
        response.redirect(
            settings.url("dial", turn, failed="agent-transfer-not-configured"), method="POST"
        )
        return
    if agent.mode == "enqueue":
        enqueue = response.enqueue(
            None,
            action=settings.url("enqueue", turn),
            method="POST",
            wait_url=settings.url("enqueue-wait", turn),
            wait_url_method="POST",
            workflow_sid=agent.workflow_sid,
        )
        enqueue.task(_task_attributes(target))
        return
    headers = []
    if target.message_to_agent:
        headers.append(("X-Postcall-Message", _xml_safe(target.message_to_agent)))
    if target.context:
        headers.append(("X-Postcall-Context", _compact_json(target.context)))
    _dial(response, str(agent.target), headers, None, settings, turn)


def _dial(
    response: TwiML,
    target: str,
    headers: list[tuple[str, str]],
    send_digits: str | None,
    settings: TwilioSettings,
    turn: int | None,
) -> None:
    dial = response.dial(
        action=settings.url("dial", turn),
        method="POST",
        timeout=settings.ring_timeout_s,
        caller_id=settings.caller_id,
    )
    # The child leg's `answered` callback tells the runtime the transfer was bridged, even when the
    # parent call's status callback arrives before the Dial action.
    progress = {
        "status_callback_event": "answered",
        "status_callback": settings.url("dial-status"),
        "status_callback_method": "POST",
    }
    if target.lower().startswith(("sip:", "sips:")):
        dial.sip(sip_uri_with_headers(target, headers), **progress)
    else:
        dial.number(target, send_digits=send_digits or None, **progress)


def _x_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    out = []
    for name, value in headers.items():
        name, value = _xml_safe(str(name)).strip(), _xml_safe(str(value))
        if not name.lower().startswith("x-"):
            name = f"X-{name}"
        out.append((name, value))
    return out


def sip_uri_with_headers(uri: str, headers: Sequence[tuple[str, str]]) -> str:
    """A SIP URI carrying headers as URI headers (`sip:a@b?User-to-User=...&X-Name=...`),
    which is how Twilio's `<Sip>` noun sends them on the INVITE."""
    if not headers:
        return uri
    encoded = "&".join(
        f"{quote(name, safe='-')}={quote(value, safe='')}" for name, value in headers
    )
    joiner = "&" if "?" in uri else "?"
    return f"{uri}{joiner}{encoded}"


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _task_attributes(target: TransferToAgent) -> str:
    attributes: dict[str, Any] = {"context": dict(target.context)}
    if target.message_to_agent:
        attributes["message_to_agent"] = target.message_to_agent
    return _compact_json(attributes)


# ----------------------------------------------------------------------------------------------
# Say and SSML


def speech_for_say(say: Say) -> str:
    """What the agent says: `speak` where given, else `text`."""
    return say.speak if say.speak and say.speak.strip() else say.text


def _say_node(say: Say, voice: TwilioVoiceSettings) -> TwiML:
    node = GenericNode("Say", None, voice=voice.voice, language=voice.language)
    if not (say.speak and say.speak.strip()):
        _nest_text(node, _xml_safe(say.text))  # `text` is never markup
        return node
    speech = _xml_safe(say.speak)
    if "<" not in speech:
        _nest_text(node, html.unescape(speech))  # a `speak` without tags may hold entities
        return node
    root = _parse_ssml(speech)
    if root is None:
        _nest_text(node, _strip_tags(speech) or _xml_safe(say.text))
    elif voice.reads_ssml:
        _append_ssml(node, root)
    else:
        _nest_text(node, " ".join("".join(root.itertext()).split()) or _xml_safe(say.text))
    return node


def _parse_ssml(speech: str) -> ET.Element | None:
    text = speech.strip()
    if not text.startswith("<speak"):
        text = f"<speak>{text}</speak>"
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _strip_tags(speech: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", speech)).split())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _append_ssml(target: TwiML, element: ET.Element) -> None:
    if element.text:
        _nest_text(target, element.text)
    for child in element:
        if not isinstance(child.tag, str):  # comments and processing instructions
            pass
        elif _local(child.tag) in SSML_TAGS:
            attributes = {
                ("xml:lang" if name == f"{_XML_NS}lang" else _local(name)): value
                for name, value in child.attrib.items()
            }
            node = GenericNode(_local(child.tag), None, **attributes)
            target.nest(node)
            _append_ssml(node, child)
        else:
            _append_ssml(target, child)
        if child.tail:
            _nest_text(target, child.tail)


def _nest_text(target: TwiML, text: str) -> None:
    # TwiML.xml() places each string as the text or tail of the previous node; consecutive
    # strings would overwrite each other, so they are joined here.
    if target.verbs and isinstance(target.verbs[-1], str):
        target.verbs[-1] += text
    else:
        target.nest(text)
