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


def test_token_usage_counts_are_kept_and_token_values_masked() -> None:
    """A model's usage numbers are counts (review-12 #7); a token's text stays a secret."""
    usage = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16,
             "prompt_tokens_details": {"cached_tokens": 0}}
    response = {"status_code": 200, "content": "We open at nine.", "usage": usage}
    assert redact_json(response) == response
    secrets = {"token": "abc123xyz", "api_token": "tok-999999", "access_token": 42, "refresh_token": "r-1234567",
               "max_tokens": "sk-looks-like-a-key", "tokens": True,
               "token_details": {"n": 1}, "prompt_tokens_details": "a-token-text"}
    assert redact_json(secrets) == {key: REDACTED for key in secrets}
    stream = io.StringIO()
    configure_logging(stream=stream)
    get_logger("t").info("model_answered", usage=usage, api_token="tok-999999")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["usage"] == usage and line["api_token"] == REDACTED
