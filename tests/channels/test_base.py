"""The shared webhook types: headers without case, form bodies, size limits, error replies."""

from __future__ import annotations

import json

import pytest

from postcall.channels.base import Headers, WebhookRequest, error_reply
from postcall.errors import ChannelError


def test_headers_ignore_case_and_hide_values_in_repr() -> None:
    headers = Headers({"X-Twilio-Signature": "c2VjcmV0", "content-type": "text/plain"})
    assert headers["x-twilio-signature"] == headers["X-TWILIO-SIGNATURE"] == "c2VjcmV0"
    assert "Content-Type" in headers and "Missing" not in headers
    assert headers.get("missing") is None
    assert sorted(headers) == ["X-Twilio-Signature", "content-type"] and len(headers) == 2
    assert "c2VjcmV0" not in repr(headers)


def test_request_parts() -> None:
    request = WebhookRequest.build(
        "post", "https://h.example/channels/twilio/gather?turn=3&x=", {"A": "1"}, b""
    )
    assert request.method == "POST"
    assert request.path == "/channels/twilio/gather"
    assert request.query == {"turn": "3", "x": ""}
    assert request.header("a") == "1"


def test_form_keeps_every_value_and_blank_ones() -> None:
    request = WebhookRequest.build("POST", "http://h/x", {}, b"A=1&A=2&B=&C=%2B1%20555")
    assert request.form() == {"A": ["1", "2"], "B": [""], "C": ["+1 555"]}
    assert WebhookRequest.build("POST", "http://h/x", {}, b"").form() == {}


@pytest.mark.parametrize("body", [b"\xff\xfe", b"no-equals-sign", b"a=1&&&b"])
def test_body_that_is_not_form_data_is_400(body: bytes) -> None:
    with pytest.raises(ChannelError) as caught:
        WebhookRequest.build("POST", "http://h/x", {}, body).form()
    assert (caught.value.status, caught.value.field) == (400, "body")


def test_body_over_the_limit_is_413() -> None:
    with pytest.raises(ChannelError) as caught:
        WebhookRequest.build("POST", "http://h/x", {}, b"a=" + b"b" * 100).form(max_bytes=50)
    assert caught.value.status == 413 and "102 bytes" in str(caught.value)


def test_error_reply() -> None:
    reply = error_reply(ChannelError("Missing CallSid.", status=400, field="CallSid"))
    assert (reply.status, reply.content_type) == (400, "application/json")
    assert json.loads(reply.text) == {
        "error": {"status": 400, "message": "Missing CallSid.", "field": "CallSid"}
    }
