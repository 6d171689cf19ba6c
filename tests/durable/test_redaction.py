"""Secrets are masked in headers, URLs, JSON and form bodies, and in log lines."""

from __future__ import annotations

import io
import json

from postcall.logging import configure_logging, get_logger
from postcall.redaction import (
    REDACTED,
    is_secret_name,
    redact_body,
    redact_headers,
    redact_json,
    redact_url,
)


def test_secret_names() -> None:
    for name in ("Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "api_key", "client_secret", "password",
                 "access_token", "refreshToken", "X-Twilio-Signature", "sessionId"):
        assert is_secret_name(name), name
    for name in ("Content-Type", "status", "author", "case_number", "end_reason", "Idempotency-Key"):
        assert not is_secret_name(name), name


def test_headers_urls_and_bodies() -> None:
    headers = redact_headers({"Authorization": "Bearer abc.def", "Content-Type": "application/json", "X-API-Key": "k"})
    assert headers == {"Authorization": REDACTED, "Content-Type": "application/json", "X-API-Key": REDACTED}
    url = redact_url("https://user:pw@crm.example/cases?id=4&api_key=s3cret&token=t")
    assert "pw" not in url and "s3cret" not in url and "id=4" in url and "user:" in url
    body = json.loads(redact_body('{"case": 1, "auth": {"password": "p", "token": "t"}, "note": "Bearer abcdefghij"}') or "")
    assert body == {"case": 1, "auth": {"password": REDACTED, "token": REDACTED}, "note": f"Bearer {REDACTED}"}
    assert redact_body("user=a&password=b", "application/x-www-form-urlencoded") == f"user=a&password={REDACTED.replace('[', '%5B').replace(']', '%5D')}"
    assert redact_json([{"secret": None}]) == [{"secret": None}]


def test_log_lines_are_json_with_context_and_no_secrets() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", stream=stream)
    get_logger("t").info("sent", conversation_id="c1", run_id="r1", headers={"Authorization": "Bearer xyz123456"},
                         url="https://crm.example/x?token=abc", password="hunter2")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "sent" and line["conversation_id"] == "c1" and line["run_id"] == "r1"
    assert "hunter2" not in stream.getvalue() and "xyz123456" not in stream.getvalue() and "token=abc" not in stream.getvalue()
    configure_logging(level="WARNING")
