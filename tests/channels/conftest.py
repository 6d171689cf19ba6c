"""Helpers for the channel tests: recorded payloads, and requests signed as Twilio signs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from postcall.channels.base import WebhookRequest

DATA = Path(__file__).parent / "data"
TOKEN = "9a7c1e5b3d2f4a6c8e0b1d3f5a7c9e1b"  # an auth token made up for these tests


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def twilio_request(
    url: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    signed_url: str | None = None,
    method: str = "POST",
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> WebhookRequest:
    """A webhook as Twilio sends it: form body, X-Twilio-Signature from RequestValidator."""
    validator = RequestValidator(token)
    if method == "GET":
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        body = b""
        sig = signature or validator.compute_signature(signed_url or url, {})
    else:
        body = urlencode(params).encode()
        sig = signature or validator.compute_signature(signed_url or url, params)
    all_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sig,
    }
    all_headers.update(headers or {})
    return WebhookRequest.build(method, url, all_headers, body)
