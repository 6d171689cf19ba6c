"""X-Twilio-Signature: accepted when Twilio signed exactly this request, refused (403) otherwise."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from postcall.channels.base import CallStarted, WebhookRequest
from postcall.channels.twilio import TwilioChannel
from postcall.errors import ChannelError, ConfigError

from .conftest import TOKEN, load, twilio_request

CASE = load("twilio/voice_incoming.json")
URL, PARAMS = CASE["url"], CASE["params"]
LOCAL = "http://127.0.0.1:8000/channels/twilio/voice"  # where a proxy delivers the request


def _refused(channel: TwilioChannel, request: WebhookRequest) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        channel.parse(request)
    assert caught.value.status == 403
    assert caught.value.field == "X-Twilio-Signature"
    return caught.value


def test_twilios_own_signature_is_accepted() -> None:
    vector = load("twilio/voice_twilio_ruby_vector.json")
    channel = TwilioChannel(vector["auth_token"], base_path="/validate")
    request = twilio_request(vector["url"], vector["params"], signature=vector["signature"])
    assert isinstance(channel.parse(request), CallStarted)


def test_twilios_own_signature_with_one_changed_parameter_is_refused() -> None:
    vector = load("twilio/voice_twilio_ruby_vector.json")
    params = dict(vector["params"], From="+14155550000")
    channel = TwilioChannel(vector["auth_token"], base_path="/validate")
    _refused(channel, twilio_request(vector["url"], params, signature=vector["signature"]))


def test_signed_request_is_accepted() -> None:
    assert isinstance(TwilioChannel(TOKEN).parse(twilio_request(URL, PARAMS)), CallStarted)


def test_tampered_parameter_is_refused() -> None:
    good = twilio_request(URL, PARAMS)
    body = urlencode(dict(PARAMS, From="+19995550123")).encode()
    tampered = WebhookRequest(good.method, good.url, good.headers, body)
    _refused(TwilioChannel(TOKEN), tampered)


def test_added_parameter_is_refused() -> None:
    good = twilio_request(URL, PARAMS)
    tampered = WebhookRequest(good.method, good.url, good.headers, good.body + b"&Digits=1")
    _refused(TwilioChannel(TOKEN), tampered)


def test_wrong_token_is_refused() -> None:
    _refused(TwilioChannel("another-token"), twilio_request(URL, PARAMS))


def test_signature_for_another_url_is_refused() -> None:
    request = twilio_request(
        URL, PARAMS, signed_url=URL.replace("voice.example.com", "evil.example.com")
    )
    error = _refused(TwilioChannel(TOKEN), request)
    assert URL in str(error)  # the message says which URL was checked


def test_signature_for_another_query_is_refused() -> None:
    url = "https://voice.example.com/channels/twilio/gather?turn=2"
    params = load("twilio/gather_speech.json")["params"]
    request = twilio_request(url.replace("turn=2", "turn=3"), params, signed_url=url)
    _refused(TwilioChannel(TOKEN), request)


def test_missing_signature_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    request = twilio_request(URL, PARAMS)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "x-twilio-signature"}
    with caplog.at_level(logging.WARNING, logger="postcall.channels.twilio"):
        error = _refused(
            TwilioChannel(TOKEN), WebhookRequest.build("POST", URL, headers, request.body)
        )
    assert "Missing" in str(error)
    assert "no X-Twilio-Signature" in caplog.text


def test_refusal_is_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    request = twilio_request(URL, PARAMS, token="another-token")
    with caplog.at_level(logging.WARNING, logger="postcall.channels.twilio"):
        _refused(TwilioChannel(TOKEN), request)
    assert "bad signature" in caplog.text
    assert TOKEN not in caplog.text
    assert request.headers["X-Twilio-Signature"] not in caplog.text


def test_behind_a_proxy_the_public_url_is_checked() -> None:
    # Twilio signed the public URL; the request arrives at the local address.
    request = twilio_request(LOCAL, PARAMS, signed_url=URL)
    _refused(TwilioChannel(TOKEN), request)  # without the setting: the local URL is checked
    channel = TwilioChannel(TOKEN, public_base_url="https://voice.example.com")
    assert isinstance(channel.parse(request), CallStarted)
    assert channel.signed_url(request) == URL


def test_public_base_url_keeps_the_query_and_adds_a_path_prefix() -> None:
    channel = TwilioChannel(TOKEN, public_base_url="https://example.com/agent/")
    request = WebhookRequest.build(
        "POST", "http://10.0.0.5:9000/channels/twilio/gather?turn=4", {}, b""
    )
    assert channel.signed_url(request) == "https://example.com/agent/channels/twilio/gather?turn=4"


def test_public_base_url_refuses_a_request_signed_for_the_local_url() -> None:
    channel = TwilioChannel(TOKEN, public_base_url="https://voice.example.com")
    _refused(channel, twilio_request(LOCAL, PARAMS))


def test_port_in_the_url_is_tolerated_as_twilio_does() -> None:
    # Twilio signs some URLs with the default port and some without; RequestValidator tries both.
    request = twilio_request(
        "https://voice.example.com/channels/twilio/voice",
        PARAMS,
        signed_url="https://voice.example.com:443/channels/twilio/voice",
    )
    assert isinstance(TwilioChannel(TOKEN).parse(request), CallStarted)


def test_sha256_signature_with_the_settings_header() -> None:
    validator = RequestValidator(TOKEN)
    signature = validator.compute_signature(URL, PARAMS, "HMAC_SHA256")
    request = twilio_request(
        URL,
        PARAMS,
        signature=signature,
        headers={
            "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
        },
    )
    assert isinstance(TwilioChannel(TOKEN).parse(request), CallStarted)
    # The same signature without the header is checked as SHA-1, and fails.
    _refused(TwilioChannel(TOKEN), twilio_request(URL, PARAMS, signature=signature))


def test_unknown_signature_algorithm_is_refused() -> None:
    request = twilio_request(
        URL, PARAMS, headers={"X-Twilio-Webhooks-Signature-Settings": "algorithm=ROT13"}
    )
    _refused(TwilioChannel(TOKEN), request)


def test_token_is_never_shown() -> None:
    channel = TwilioChannel(TOKEN)
    assert TOKEN not in repr(channel)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        TwilioChannel("")
    with pytest.raises(ConfigError, match="public base URL"):
        TwilioChannel(TOKEN, public_base_url="voice.example.com")


def test_oversized_body_is_413_before_anything_else() -> None:
    request = WebhookRequest.build("POST", URL, {}, b"a=" + b"x" * 70_000)
    with pytest.raises(ChannelError) as caught:
        TwilioChannel(TOKEN).parse(request)
    assert (caught.value.status, caught.value.field) == (413, "body")


def test_body_that_is_not_form_data_is_400() -> None:
    request = WebhookRequest.build("POST", URL, {"X-Twilio-Signature": "x"}, b"\xff\xfe")
    with pytest.raises(ChannelError) as caught:
        TwilioChannel(TOKEN).parse(request)
    assert (caught.value.status, caught.value.field) == (400, "body")
