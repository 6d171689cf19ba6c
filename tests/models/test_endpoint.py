"""The model endpoint through the action layer, against a real OpenAI-protocol server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.execute import execute_action
from postcall.actions.model_endpoint import ModelEndpoint
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings
from postcall.devtools.openai_server import OpenAIServer, Scripted

FAST = RetryPolicy(max_attempts=4, initial_interval_s=0.01, max_interval_s=0.02)


def settings(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, *, hosts: tuple[str, ...] = ("127.0.0.1",), **kw: Any) -> ActionSettings:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    endpoint = ModelEndpoint(base_url=server.base_url, model="local-model", **kw)
    return ActionSettings(retry=FAST, allowed_hosts=hosts, model=endpoint)


def ask(text: str = "When are you open?", **payload: Any) -> ActionRequest:
    cid = f"conv-{uuid.uuid4().hex[:8]}"
    return ActionRequest(kind="model", node_id="gen1", topic="boost", conversation_id=cid,
                         idempotency_key=f"{cid}:boost:gen1",
                         payload={"messages": [{"role": "user", "content": text}], **payload})


def run(req: ActionRequest, s: ActionSettings, sleeps: list[float] | None = None, *, post_call: bool = False) -> ActionResult:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)

    async def go() -> ActionResult:
        async with httpx.AsyncClient() as client:
            return await execute_action(req, s, http_client=client, sleep=sleep, post_call=post_call)

    return asyncio.run(go())


def test_a_completion_comes_back_with_its_text_and_usage(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.responder = lambda body: "We open at nine."
    result = run(ask(), settings(openai_server, monkeypatch))
    assert result.ok, result.error
    assert result.body == "We open at nine."
    assert result.json["content"] == "We open at nine."
    assert result.json["usage"]["completion_tokens"] == 4
    sent = openai_server.requests[0]
    assert sent["model"] == "local-model"
    assert sent["messages"] == [{"role": "user", "content": "When are you open?"}]
    headers = openai_server.headers[0]
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["idempotency-key"].endswith(":boost:gen1")


def test_429_waits_retry_after_then_succeeds(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.script.append(Scripted(status=429, headers={"retry-after": "2"}))
    openai_server.script.append(Scripted(status=503))
    sleeps: list[float] = []
    result = run(ask(), settings(openai_server, monkeypatch), sleeps)
    assert result.ok and result.attempts == 3
    assert sleeps[0] == 2.0
    assert len(openai_server.requests) == 3


def test_malformed_answers_are_retried_then_fail_with_a_clear_category(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        openai_server.script.append(Scripted(raw_body="{not json"))
    result = run(ask(), settings(openai_server, monkeypatch, max_attempts=3))
    assert not result.ok
    assert result.error_category == "bad_response"
    assert result.attempts == 3


def test_a_refusal_is_not_retried(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from postcall.actions import model

    before = model.ATTEMPTS["refusal"]
    openai_server.script.append(Scripted(refusal="I can't help with that."))
    result = run(ask(), settings(openai_server, monkeypatch))
    assert not result.ok and result.error_category == "refusal" and result.attempts == 1
    assert model.ATTEMPTS["refusal"] == before + 1  # postcall_model_attempts_total{outcome="refusal"}
    assert "can't help" in (result.error or "")


def test_a_wrong_key_is_not_retried_and_not_shown_when_echoed(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.echo_key = True  # the 401 quotes the key, as OpenAI's does
    status, _, body = openai_server.answer("/v1/chat/completions", {"authorization": "Bearer sk-wrong-7d1e"}, b"{}")
    assert status == 401 and b"sk-wrong-7d1e" in body  # guards the test: the key really comes back
    openai_server.requests.clear()
    s = settings(openai_server, monkeypatch)
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-wrong-7d1e")
    result = run(ask(), s)
    assert not result.ok and result.status_code == 401 and result.attempts == 1
    assert "Incorrect API key" in (result.error or "") and "API key provided:" in (result.error or "")
    assert "sk-wrong-7d1e" not in (result.error or "")


def test_the_key_comes_from_a_file(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    key_file = tmp_path / "model_key"
    key_file.write_text("sk-test\n")
    monkeypatch.delenv("POSTCALL_MODEL_API_KEY", raising=False)
    s = ActionSettings(retry=FAST, allowed_hosts=("127.0.0.1",),
                       model=ModelEndpoint(base_url=openai_server.base_url, model="m", api_key_file=str(key_file)))
    assert run(ask(), s).ok
    assert "sk-test" not in json.dumps(s.to_json())


def test_a_loopback_endpoint_not_listed_is_refused_before_anything_is_sent(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(ask("my card number is 4111"), settings(openai_server, monkeypatch, hosts=("*",)))
    assert not result.ok and result.error_category == "refused_host"
    assert openai_server.requests == []


def test_a_slow_endpoint_is_cut_at_the_budget(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.script.append(Scripted(delay_s=2.0, content="late"))
    result = run(ask(), settings(openai_server, monkeypatch, timeout_s=5.0, budget_s=0.3))
    assert not result.ok
    assert result.error_category in {"timeout", "budget"}


def test_a_post_call_step_is_not_cut_at_the_callers_budget(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """budget_seconds is how long a caller waits; after the call the step's own timeout applies."""
    s = settings(openai_server, monkeypatch, timeout_s=0.2, budget_s=0.2)
    openai_server.script.append(Scripted(delay_s=0.5, content="late"))
    assert not run(ask(), s).ok  # in a call: given up at the caller's budget
    openai_server.script.append(Scripted(delay_s=0.5, content="A slow summary."))
    result = run(ask(), s, post_call=True)
    assert result.ok and result.body == "A slow summary.", result.error


def test_a_post_call_step_retries_by_the_runs_policy(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(openai_server, monkeypatch, max_attempts=1)  # the caller-facing attempts
    openai_server.script.append(Scripted(status=503))
    assert not run(ask(), s).ok and not openai_server.script  # in a call: one attempt
    openai_server.script.extend([Scripted(status=503), Scripted(status=503)])
    result = run(ask(), s, post_call=True)  # FAST: 4 attempts
    assert result.ok and result.attempts == 3


def test_the_error_names_the_budget_that_cut_the_retries(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.script.append(Scripted(status=503, headers={"Retry-After": "30"}))
    result = run(ask(), settings(openai_server, monkeypatch, budget_s=2.0))
    assert not result.ok
    assert "no time left in the model's 2 s budget (model: budget_seconds) for attempt 2" in (result.error or "")
    assert "run budget" not in (result.error or "")


def test_no_model_configured_is_a_clear_failure() -> None:
    result = run(ask(), ActionSettings(retry=FAST))
    assert not result.ok and result.error_category == "no_model"
    assert "model:" in (result.error or "")


def test_structured_output_asks_with_the_schema(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {"type": "object", "properties": {"summary": {"type": "string"}, "resolved": {"type": "boolean"}},
              "required": ["summary", "resolved"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "analysis", "schema": schema, "strict": True}}
    result = run(ask(response_format=fmt), settings(openai_server, monkeypatch))
    assert result.ok
    assert json.loads(result.body or "") == {"summary": "example", "resolved": False}
    assert openai_server.requests[0]["response_format"] == fmt
