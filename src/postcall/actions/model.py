"""One model call attempt: OpenAI's chat completions through the official `openai` SDK.

A "model" ActionRequest (payload: `messages`, optional `response_format`, `max_tokens`) goes
to the endpoint of `ActionSettings.model`.  The SDK is given an HTTP client whose transport
checks every request's destination against the action layer's allowed hosts (private
addresses refused unless listed) before a byte leaves, and its own retries are switched off:
the action layer's retry loop retries 408/429/5xx, timeouts, dropped connections and
malformed answers with backoff and Retry-After, inside the endpoint's `budget_s`.

The result: `json` = {"content", "finish_reason", "model", "usage"}, `body` = the text.  A
refusal is a failed result (category "refusal"), not retried.  The key is read when the call
is made (ModelEndpoint.api_key) and never recorded; the recorded request keeps the roles and
sizes of the messages, not their text.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import Counter
from typing import Any

import httpx2
import openai

from postcall.actions.hosts import Resolver, check_destination
from postcall.actions.model_endpoint import ModelEndpoint
from postcall.actions.model_output import response_schema, structured_answer
from postcall.actions.retry import AttemptOutcome, is_retryable_status, parse_retry_after
from postcall.actions.settings import ActionSettings
from postcall.actions.types import ActionRequest, ActionResult
from postcall.errors import ActionError, ConfigError
from postcall.redaction import redact_text, truncate
from postcall.vocabulary import ErrorCategory


class _PolicyTransport(httpx2.AsyncBaseTransport):
    """httpx2 transport that refuses destinations the action settings do not allow.

    The check runs on every request the SDK sends, so no code path of the SDK (a redirect, a
    retry, a base URL from the environment) can reach a host the operator did not list.
    """

    def __init__(self, allowed_hosts: tuple[str, ...]) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.allowed_hosts = allowed_hosts
        self.resolver: Resolver | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            await check_destination(str(request.url), self.allowed_hosts, resolver=self.resolver)
        except ActionError as exc:
            raise _Refused(exc) from exc
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


ATTEMPTS: Counter[str] = Counter()
"""Model call attempts in this process by outcome ("ok" or the error category), for metrics."""
_attempts_lock = threading.Lock()


def _count(outcome: AttemptOutcome) -> AttemptOutcome:
    with _attempts_lock:
        ATTEMPTS["ok" if outcome.result.ok else (outcome.result.error_category or "error")] += 1
    return outcome


class _Refused(Exception):
    def __init__(self, error: ActionError) -> None:
        super().__init__(str(error))
        self.error = error


_Clients = dict[tuple[tuple[str, ...], str, str], tuple[openai.AsyncOpenAI, _PolicyTransport]]
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clients] = weakref.WeakKeyDictionary()


def _sdk(endpoint: ModelEndpoint, key: str | None, allowed_hosts: tuple[str, ...]) -> tuple[openai.AsyncOpenAI, _PolicyTransport]:
    """One SDK client per event loop, endpoint, key and allowed hosts (its connections are reused)."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    ident = (allowed_hosts, endpoint.base_url, key or "")
    found = per_loop.get(ident)
    if found is None:
        transport = _PolicyTransport(allowed_hosts)
        http = httpx2.AsyncClient(transport=transport, follow_redirects=False)
        sdk = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=key or "none", http_client=http, max_retries=0)
        found = per_loop[ident] = (sdk, transport)
    return found


def _request_view(endpoint: ModelEndpoint, payload: dict[str, Any]) -> dict[str, Any]:
    messages = payload.get("messages") or []
    fmt = payload.get("response_format") or {}
    return {
        "method": "POST",
        "url": endpoint.base_url.rstrip("/") + "/chat/completions",
        "model": endpoint.model,
        "messages": [{"role": m.get("role"), "chars": len(str(m.get("content") or ""))} for m in messages],
        "response_format": fmt.get("type") if isinstance(fmt, dict) else None,
    }


def _fail(message: str, category: ErrorCategory, *, retryable: bool = False, view: dict[str, Any] | None = None,
          status: int | None = None, retry_after: float | None = None) -> AttemptOutcome:
    # The endpoint's own words may echo the key (a 401 body): masked here, before the text
    # becomes a result, a step record, a run error, a log line or a note.
    message = redact_text(message)
    return _count(AttemptOutcome(
        ActionResult(ok=False, status_code=status, error=message, error_category=category),
        retryable=retryable, retry_after=retry_after, request_view=view or {},
        response_view={"status_code": status} if status is not None else None,
    ))


async def model_once(
    request: ActionRequest,
    settings: ActionSettings,
    seconds_left: float | None,
    *,
    resolver: Resolver | None = None,
    timeout_s: float | None = None,
) -> AttemptOutcome:
    """Send the chat completion once and classify the answer; never raises for a failed call.

    `timeout_s` replaces the endpoint's per-attempt timeout (a post-call step's own)."""
    endpoint = settings.model
    if endpoint is None:
        return _fail(
            f"Node {request.node_id!r} needs a model, and agent.yaml configures none (model: base_url, model).",
            "no_model",
        )
    payload = request.payload
    view = _request_view(endpoint, payload)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return _fail(f"Node {request.node_id!r} asks the model with no messages.", "bad_request", view=view)
    try:
        key = endpoint.api_key()
    except ConfigError as exc:
        return _fail(str(exc), "bad_request", view=view)
    limit = timeout_s or endpoint.timeout_s
    timeout = limit if seconds_left is None else max(0.001, min(limit, seconds_left))
    sdk, transport = _sdk(endpoint, key, tuple(settings.allowed_hosts))
    transport.resolver = resolver
    params: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "max_tokens": int(payload.get("max_tokens") or endpoint.max_tokens),
        "temperature": endpoint.temperature,
    }
    if payload.get("response_format"):
        params["response_format"] = payload["response_format"]
    try:
        completion = await sdk.chat.completions.create(
            **params, timeout=timeout, extra_headers={"Idempotency-Key": request.idempotency_key}
        )
    except _Refused as refused:
        return _fail(str(refused.error), refused.error.category, retryable=refused.error.retryable, view=view)
    except openai.APITimeoutError:
        return _fail(f"The model endpoint did not answer within {timeout:g} s.", "timeout", retryable=True, view=view)
    except openai.APIStatusError as exc:
        status = exc.status_code
        retryable = is_retryable_status(status)
        retry_after = parse_retry_after(exc.response.headers.get("retry-after")) if retryable else None
        return _fail(f"The model endpoint answered {status}: {_message(exc)}", "http_status",
                     retryable=retryable, view=view, status=status, retry_after=retry_after)
    except openai.APIConnectionError as exc:
        cause = exc.__cause__
        if isinstance(cause, _Refused):
            return _fail(str(cause.error), cause.error.category, retryable=cause.error.retryable, view=view)
        return _fail(f"The model endpoint could not be reached: {cause or exc}.", "connection", retryable=True, view=view)
    except (openai.APIResponseValidationError, ValueError, KeyError, TypeError) as exc:
        return _fail(f"The model endpoint's answer is not a chat completion: {type(exc).__name__}.", "bad_response",
                     retryable=True, view=view)
    if not completion.choices:
        return _fail("The model endpoint answered no choices.", "bad_response", retryable=True, view=view, status=200)
    choice = completion.choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        return _fail(f"The model refused: {truncate(refusal, 200)}", "refusal", view=view, status=200)
    content = message.content or ""
    usage = completion.usage.model_dump() if completion.usage is not None else None
    schema = response_schema(payload)
    if schema is not None:
        # checked inside the step: a bad structured answer is a failed (retried) attempt, never a
        # recorded success that a replay or a redrive would reuse (model_output.py)
        if choice.finish_reason == "content_filter":
            return _fail("The endpoint's content filter withheld the answer.", "content_filter", view=view, status=200)
        _, problem = structured_answer(content, schema)
        if problem:
            outcome = _fail(f"The model answered {problem}", "bad_output", retryable=True, view=view, status=200)
            outcome.response_view = {"status_code": 200, "content": truncate(content, settings.recorded_body_chars),
                                     "usage": usage}
            return outcome
    result = ActionResult(
        ok=True,
        status_code=200,
        body=content,
        json={"content": content, "finish_reason": choice.finish_reason, "model": completion.model, "usage": usage,
              # the passages an answer was grounded on come back with it (a replay reads them too)
              "citations": payload.get("citations") or []},
    )
    response_view = {"status_code": 200, "content": truncate(content, settings.recorded_body_chars), "usage": usage}
    return _count(AttemptOutcome(result, request_view=view, response_view=response_view))


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(err, dict) and err.get("message"):
            return truncate(str(err["message"]), 300) or ""
    return truncate(str(exc.message), 300) or ""
