"""Every agent output rendered to TwiML, read back as XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from postcall.channels.twilio import TwilioChannel
from postcall.channels.twilio_twiml import (
    AgentTransferSettings,
    TwilioSettings,
    TwilioVoiceSettings,
    hold_twiml,
    render_twiml,
)
from postcall.engine.activity import (
    EmitActivity,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.errors import ConfigError
from postcall.vocabulary import ActivityType

from .conftest import TOKEN, load, twilio_request

POLLY = TwilioSettings(
    voice=TwilioVoiceSettings(voice="Polly.Joanna-Neural", language="en-GB"),
    caller_id="+15005550006",
    ring_timeout_s=25,
)


def xml(outputs: list, settings: TwilioSettings | None = None, turn: int | None = 3) -> ET.Element:
    root = ET.fromstring(render_twiml(outputs, settings, turn=turn))
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def test_say_then_listen_nests_the_prompt_in_gather() -> None:
    root = xml([Say("Welcome."), Say("How can I help?"), Listen()], POLLY)
    assert verbs(root) == ["Gather"]
    gather = root[0]
    assert [s.text for s in gather] == ["Welcome.", "How can I help?"]
    assert all(
        s.get("voice") == "Polly.Joanna-Neural" and s.get("language") == "en-GB" for s in gather
    )
    assert gather.get("input") == "dtmf speech"
    assert gather.get("action") == "/channels/twilio/gather?turn=3"
    assert gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("bargeIn") == "true"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("timeout") == "5"
    assert gather.get("language") == "en-GB"
    assert gather.get("numDigits") is None and gather.get("finishOnKey") is None


def test_listen_options_become_gather_attributes() -> None:
    listen = Listen(
        dtmf_max_digits=6, dtmf_finish_key="*", silence_timeout_ms=8000, speech_end_timeout_ms=1500
    )
    gather = xml([Say("Account number?"), listen])[0]
    assert gather.get("numDigits") == "6"
    assert gather.get("finishOnKey") == "*"
    assert gather.get("timeout") == "8"
    assert gather.get("speechTimeout") == "2"  # 1.5 s rounds up to whole seconds


def test_dtmf_only_listen() -> None:
    gather = xml([Listen(speech=False, dtmf_max_digits=1)])[0]
    assert gather.get("input") == "dtmf"
    assert gather.get("speechTimeout") is None and gather.get("language") is None


def test_speech_only_listen() -> None:
    gather = xml([Listen(dtmf=False, dtmf_finish_key="#")])[0]
    assert gather.get("input") == "speech"
    assert gather.get("finishOnKey") is None


def test_no_barge_in_plays_prompts_before_gather() -> None:
    root = xml([Say("Please listen to the terms."), Listen(allow_barge_in=False)])
    assert verbs(root) == ["Say", "Gather"]
    assert root[1].get("bargeIn") == "false"
    assert list(root[1]) == []


def test_only_the_trailing_interruptible_prompts_go_inside_gather() -> None:
    root = xml([Say("Legal notice.", allow_barge_in=False), Say("What next?"), Listen()])
    assert verbs(root) == ["Say", "Gather"]
    assert root[0].text == "Legal notice."
    assert [s.text for s in root[1]] == ["What next?"]


def test_turn_without_an_ending_still_listens() -> None:
    root = xml([Say("Anything else?")])
    assert verbs(root) == ["Gather"]


def test_empty_turn_listens() -> None:
    assert verbs(xml([])) == ["Gather"]


def test_hang_up() -> None:
    root = xml([Say("Goodbye."), HangUp(node_id="end1")])
    assert verbs(root) == ["Say", "Hangup"]


def test_outputs_after_the_turn_ends_are_ignored() -> None:
    assert verbs(xml([HangUp(), Say("never said"), Listen()])) == ["Hangup"]


def test_emit_activity_has_no_voice_form() -> None:
    root = xml([EmitActivity(ActivityType.EVENT, name="crm.note", value={"a": 1}), HangUp()])
    assert verbs(root) == ["Hangup"]


def test_transfer_to_phone_number() -> None:
    target = TransferToPhoneNumber("+14155550142", dtmf_sequence="ww1234")
    root = xml([Say("Transferring you."), Transfer(target, node_id="t1")], POLLY, turn=7)
    assert verbs(root) == ["Say", "Dial"]
    dial = root[1]
    assert dial.get("action") == "/channels/twilio/dial?turn=7"
    assert dial.get("method") == "POST"
    assert dial.get("callerId") == "+15005550006"
    assert dial.get("timeout") == "25"
    (number,) = list(dial)
    assert number.tag == "Number" and number.text == "+14155550142"
    assert number.get("sendDigits") == "ww1234"
    assert number.get("statusCallbackEvent") == "answered"
    assert number.get("statusCallback") == "/channels/twilio/dial-status"
    assert number.get("statusCallbackMethod") == "POST"


def test_tel_uri_is_dialled_as_a_number() -> None:
    number = xml([Transfer(TransferToPhoneNumber("tel:+14155550142"))])[0][0]
    assert (number.tag, number.text) == ("Number", "+14155550142")


def test_transfer_to_sip_uri_carries_uui_and_x_headers() -> None:
    target = TransferToPhoneNumber(
        "sip:queue@pbx.example.com;transport=tls",
        sip_uui_header="4e6f7465;encoding=hex",
        sipx_headers={"X-Case-Id": "C-17", "Reason": "billing & refunds"},
    )
    dial = xml([Transfer(target)])[0]
    (sip,) = list(dial)
    assert sip.tag == "Sip"
    assert sip.get("statusCallbackEvent") == "answered"
    uri, _, headers = sip.text.partition("?")
    assert uri == "sip:queue@pbx.example.com;transport=tls"
    pairs = dict(part.split("=", 1) for part in headers.split("&"))
    assert unquote(pairs["User-to-User"]) == "4e6f7465;encoding=hex"
    assert unquote(pairs["X-Case-Id"]) == "C-17"
    assert unquote(pairs["X-Reason"]) == "billing & refunds"  # names gain the X- prefix


def test_empty_transfer_number_reports_a_failed_transfer() -> None:
    root = xml([Transfer(TransferToPhoneNumber("  "))], turn=4)
    assert verbs(root) == ["Redirect"]
    query = parse_qs(urlsplit(root[0].text).query)
    assert query == {"turn": ["4"], "failed": ["invalid-target"]}


def test_transfer_to_agent_enqueues_with_the_context() -> None:
    settings = TwilioSettings(
        transfer_to_agent=AgentTransferSettings(
            mode="enqueue", workflow_sid="WW0123456789abcdef0123456789abcdef"
        )
    )
    target = TransferToAgent(message_to_agent="Wants a refund", context={"case": "C-17", "tier": 2})
    root = xml([Say("Connecting you to an agent."), Transfer(target)], settings, turn=9)
    assert verbs(root) == ["Say", "Enqueue"]
    enqueue = root[1]
    assert enqueue.get("workflowSid") == "WW0123456789abcdef0123456789abcdef"
    assert enqueue.get("action") == "/channels/twilio/enqueue?turn=9"
    assert enqueue.get("waitUrl") == "/channels/twilio/enqueue-wait?turn=9"
    assert enqueue.get("waitUrlMethod") == "POST"
    (task,) = list(enqueue)
    assert task.tag == "Task"
    assert json.loads(task.text) == {
        "message_to_agent": "Wants a refund",
        "context": {"case": "C-17", "tier": 2},
    }


def test_transfer_to_agent_dials_a_contact_centre_sip_uri_with_the_context() -> None:
    settings = TwilioSettings(
        transfer_to_agent=AgentTransferSettings(mode="dial", target="sip:agents@cc.example.com")
    )
    target = TransferToAgent(message_to_agent="VIP", context={"case": "C-17"})
    dial = xml([Transfer(target)], settings)[0]
    assert dial.tag == "Dial" and dial.get("action") == "/channels/twilio/dial?turn=3"
    sip = dial[0]
    headers = dict(part.split("=", 1) for part in sip.text.partition("?")[2].split("&"))
    assert unquote(headers["X-Postcall-Message"]) == "VIP"
    assert json.loads(unquote(headers["X-Postcall-Context"])) == {"case": "C-17"}


def test_transfer_to_agent_dials_a_contact_centre_number() -> None:
    settings = TwilioSettings(
        transfer_to_agent=AgentTransferSettings(mode="dial", target="+18005550100")
    )
    number = xml([Transfer(TransferToAgent(context={"x": 1}))], settings)[0][0]
    assert (number.tag, number.text) == ("Number", "+18005550100")


def test_unconfigured_transfer_to_agent_reports_a_failed_transfer() -> None:
    root = xml([Transfer(TransferToAgent())], turn=5)
    assert verbs(root) == ["Redirect"]
    assert parse_qs(urlsplit(root[0].text).query)["failed"] == ["agent-transfer-not-configured"]


def test_public_base_url_makes_urls_absolute() -> None:
    channel = TwilioChannel(TOKEN, public_base_url="https://voice.example.com")
    gather = ET.fromstring(channel.render([Listen()], turn=1))[0]
    assert gather.get("action") == "https://voice.example.com/channels/twilio/gather?turn=1"


# -- Say and SSML ---------------------------------------------------------------------------


def test_speak_replaces_text() -> None:
    say = xml([Say("Your balance is 5 dollars.", speak="Your balance is five dollars."), HangUp()])[
        0
    ]
    assert say.text == "Your balance is five dollars."


def test_ssml_is_passed_to_polly_with_the_tags_twilio_accepts() -> None:
    speak = (
        '<speak>Hello <break time="500ms"/><emphasis level="strong">Ada</emphasis>, '
        '<say-as interpret-as="digits">1234</say-as> <lang xml:lang="fr-FR">merci</lang>'
        '<mark name="m1"/> <unknown>plain</unknown> done</speak>'
    )
    say = xml([Say("Hello Ada", speak=speak), HangUp()], POLLY)[0]
    children = [child.tag for child in say]
    assert children == ["break", "emphasis", "say-as", "lang"]
    assert say[0].get("time") == "500ms"
    assert say[2].get("interpret-as") == "digits" and say[2].text == "1234"
    assert say[3].get("{http://www.w3.org/XML/1998/namespace}lang") == "fr-FR"
    assert "plain" in "".join(say.itertext()) and "done" in "".join(say.itertext())


def test_ssml_namespace_is_dropped() -> None:
    speak = '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"><p>One</p><s>Two</s></speak>'
    say = xml([Say("One. Two.", speak=speak), HangUp()], POLLY)[0]
    assert [child.tag for child in say] == ["p", "s"]


def test_ssml_is_reduced_to_text_for_basic_voices() -> None:
    speak = '<speak>Hello <break time="1s"/><emphasis>there</emphasis></speak>'
    settings = TwilioSettings(voice=TwilioVoiceSettings(voice="alice"))
    say = xml([Say("Hello there", speak=speak), HangUp()], settings)[0]
    assert list(say) == [] and say.text == "Hello there"


def test_ssml_that_does_not_parse_is_reduced_to_text() -> None:
    say = xml([Say("Tom and Jerry", speak="<speak>Tom & Jerry <break></speak>"), HangUp()], POLLY)[
        0
    ]
    assert list(say) == [] and say.text == "Tom & Jerry"


def test_plain_text_with_markup_characters_is_spoken_as_is() -> None:
    say = xml([Say("Use <Ctrl> & C"), HangUp()], POLLY)[0]
    assert say.text == "Use <Ctrl> & C"


def test_hold_music() -> None:
    root = ET.fromstring(hold_twiml(None))
    assert verbs(root) == ["Redirect"] and root[0].get("method") == "GET"
    mp3 = AgentTransferSettings(
        mode="enqueue", workflow_sid="WW1", hold_music_url="https://cdn.example.com/hold.mp3"
    )
    assert verbs(ET.fromstring(hold_twiml(mp3))) == ["Play"]


# -- replies ---------------------------------------------------------------------------------


def test_respond_acknowledges_status_callbacks() -> None:
    case = load("twilio/status_completed.json")
    reply = TwilioChannel(TOKEN).respond(
        twilio_request(case["url"], case["params"]), [Say("ignored")]
    )
    assert reply.status == 200 and reply.content_type == "application/xml"
    assert verbs(ET.fromstring(reply.body)) == []


def test_respond_to_the_wait_url_plays_hold_music() -> None:
    case = load("twilio/enqueue_wait.json")
    reply = TwilioChannel(TOKEN).respond(twilio_request(case["url"], case["params"]), [])
    assert verbs(ET.fromstring(reply.body)) == ["Redirect"]


def test_respond_hangs_up_a_finished_conversation() -> None:
    case = load("twilio/dial_completed.json")
    request = twilio_request(case["url"], case["params"])
    reply = TwilioChannel(TOKEN).respond(request, [], turn=8, ended=True)
    assert verbs(ET.fromstring(reply.body)) == ["Hangup"]
    reply = TwilioChannel(TOKEN).respond(request, [Say("Back with me."), Listen()], turn=8)
    assert verbs(ET.fromstring(reply.body)) == ["Gather"]


def test_settings_from_agent_yaml_mappings() -> None:
    voice = TwilioVoiceSettings.from_mapping(
        {
            "voice": "Google.en-US-Neural2-F",
            "language": "en-US",
            "speech_timeout": "3",
            "input_timeout_s": 7,
        }
    )
    assert voice.reads_ssml and voice.input_timeout_s == 7
    agent = AgentTransferSettings.from_mapping({"mode": "enqueue", "workflow_sid": "WW1"})
    assert agent.mode == "enqueue"
    for bad, where in (
        ({"mode": "enqueue"}, "workflow_sid"),
        ({"mode": "dial"}, "target"),
        ({"mode": "carrier-pigeon"}, "mode"),
        ({"mode": "dial", "target": "+1", "colour": "red"}, "colour"),
    ):
        with pytest.raises(ConfigError, match=where):
            AgentTransferSettings.from_mapping(bad)
    with pytest.raises(ConfigError, match="input_timeout_s"):
        TwilioVoiceSettings.from_mapping({"input_timeout_s": 0})
    with pytest.raises(ConfigError, match="speech_timeout"):
        TwilioVoiceSettings.from_mapping({"speech_timeout": "soon"})
