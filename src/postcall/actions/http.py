"""One HTTP attempt: host check, Idempotency-Key, timeout, bounded body, and a classification of what went wrong.

The connection goes to the address that was checked (`pinned`): the URL's host name is
resolved once, every address is checked against `allowed_hosts`, and the request is sent to
the chosen address with the original `Host` header and TLS server name (so the certificate is
still verified for the name).  httpx would otherwise resolve the name again, and a DNS answer
that changed in between (DNS rebinding) could point it at an address the check refused.

The retry loop lives in `attempts.retry_attempts`; this module only knows how to send once
and how to say whether trying again could help (connection errors, timeouts, 408, 429, 5xx).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

import httpx

from postcall.actions.hosts import Resolver, check_destination
from postcall.actions.retry import AttemptOutcome, is_retryable_status, parse_retry_after
from postcall.actions.settings import ActionSettings
from postcall.actions.types import ActionRequest, ActionResult
from postcall.errors import ActionError
from postcall.redaction import redact_body, redact_headers, redact_url, truncate

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
USER_AGENT = "postcall"
CLIENT_TIMEOUT_S = 30.0
"""A client's default timeout; every action request sets its own (`request_timeout_s`, `timeout_ms`)."""
CLIENT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


def http_client(*, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one way the runtime makes an HTTP client for `execute_action` (calls, post-call runs, harness, sync).

    Redirects are not followed (a 3xx is a result, and following it would skip the host check);
    proxies and certificates are not read from the environment (`trust_env=False`: an
    HTTP(S)_PROXY variable must not send requests to hosts the check never saw); the pool is
    sized for a server's concurrent calls.  `transport` is the only thing a caller swaps (a test's
    `httpx.MockTransport`, `postcall simulate`'s answering transport).
    """
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=CLIENT_TIMEOUT_S,
        limits=CLIENT_LIMITS,
    )



def _request_view(
    method: str, url: str, headers: Mapping[str, str], body: str | None, content_type: str | None, limit: int
) -> dict[str, Any]:
    return {
        "method": method,
        "url": redact_url(url),
        "headers": redact_headers(headers),
        "body": truncate(redact_body(body, content_type), limit),
    }


def _response_view(response: httpx.Response, text: str, limit: int) -> dict[str, Any]:
    return {
        "status_code": response.status_code,
        "headers": redact_headers(dict(response.headers)),
        "body": truncate(redact_body(text, response.headers.get("content-type")), limit),
    }


def _parse_json(text: str, content_type: str | None) -> Any:
    if not text:
        return None
    if "json" not in (content_type or "").lower() and text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def pinned(url: str, addresses: list[str], headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The URL to connect to, pinned to a checked address, and the request's extensions.

    `headers` gains the original `Host` (unless the author set one); an https request carries
    the original name as its TLS server name.  A URL whose host is an address is sent as is.
    """
    parsed = httpx.URL(url)
    host = parsed.host
    if not addresses or host in addresses or _is_address(host):
        return url, {}
    address = sorted(addresses, key=lambda a: (":" in a, a))[0]  # IPv4 first, as most stacks do
    if not any(k.lower() == "host" for k in headers):
        headers["Host"] = parsed.netloc.decode("ascii")
    extensions: dict[str, Any] = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return str(parsed.copy_with(host=address.split("%", 1)[0])), extensions


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def build_http_call(request: ActionRequest, settings: ActionSettings) -> tuple[str, str, dict[str, str], str | None, str | None, float]:
    """(method, url, headers, body, content type, timeout seconds) from an http request's payload."""
    payload = request.payload
    method = str(payload.get("method") or "GET").upper()
    if method not in METHODS:
        raise ActionError(
            f"HTTP method {method!r} of node {request.node_id!r} is not one of {', '.join(sorted(METHODS))}.",
            retryable=False,
            category="bad_request",
        )
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise ActionError(f"Node {request.node_id!r} has no URL to call.", retryable=False, category="bad_request")
    headers = {str(k): str(v) for k, v in dict(payload.get("headers") or {}).items()}
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    content_type = payload.get("content_type")
    if body is not None and content_type and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = str(content_type)
    for key in [k for k in headers if k.lower() == "idempotency-key"]:
        del headers[key]
    headers["Idempotency-Key"] = request.idempotency_key
    if not any(k.lower() == "user-agent" for k in headers):
        headers["User-Agent"] = USER_AGENT
    timeout_ms = payload.get("timeout_ms")
    timeout = settings.request_timeout_s if timeout_ms in (None, "") else float(timeout_ms) / 1000.0
    if timeout <= 0:
        raise ActionError(
            f"Node {request.node_id!r} has a request timeout of {timeout_ms!r} ms; it must be positive.",
            retryable=False,
            category="bad_request",
        )
    return method, url, headers, body, content_type, timeout


async def send_once(
    request: ActionRequest,
    settings: ActionSettings,
    client: httpx.AsyncClient,
    seconds_left: float | None,
    *,
    resolver: Resolver | None = None,
) -> AttemptOutcome:
    """Send the request once and classify the answer; never raises for a failed request."""
    limit = settings.recorded_body_chars
    try:
        method, url, headers, body, content_type, timeout = build_http_call(request, settings)
    except ActionError as exc:
        return AttemptOutcome(ActionResult(ok=False, error=str(exc), error_category=exc.category))
    view = _request_view(method, url, headers, body, content_type, limit)
    try:
        addresses = await check_destination(url, settings.allowed_hosts, resolver=resolver)
    except ActionError as exc:
        return AttemptOutcome(
            ActionResult(ok=False, error=str(exc), error_category=exc.category), retryable=exc.retryable, request_view=view
        )
    if seconds_left is not None:
        timeout = max(0.001, min(timeout, seconds_left))
    target, extensions = pinned(url, addresses, headers)
    try:
        async with client.stream(
            method, target, headers=headers, content=body.encode() if body is not None else None, timeout=timeout,
            extensions=extensions,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= settings.max_response_bytes:
                    break
            raw = b"".join(chunks)[: settings.max_response_bytes]
    except httpx.TimeoutException as exc:
        return AttemptOutcome(
            ActionResult(
                ok=False,
                error=f"{method} {redact_url(url)} timed out after {timeout:g} s ({type(exc).__name__}).",
                error_category="timeout",
            ),
            retryable=True,
            request_view=view,
        )
    except (httpx.TransportError, OSError) as exc:
        return AttemptOutcome(
            ActionResult(
                ok=False,
                error=f"{method} {redact_url(url)} failed to connect or was cut: {type(exc).__name__}: {exc}",
                error_category="connection",
            ),
            retryable=True,
            request_view=view,
        )
    encoding = response.encoding or "utf-8"
    text = raw.decode(encoding, errors="replace")
    response_headers = {k.lower(): v for k, v in response.headers.items()}
    status = response.status_code
    response_view = _response_view(response, text, limit)
    ok = 200 <= status < 300
    result = ActionResult(
        ok=ok,
        status_code=status,
        headers=response_headers,
        body=text,
        json=_parse_json(text, response.headers.get("content-type")),
        error=None if ok else f"{method} {redact_url(url)} answered {status} {response.reason_phrase}.".replace(" .", "."),
        error_category=None if ok else "http_status",
    )
    retryable = not ok and is_retryable_status(status)
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    return AttemptOutcome(result, retryable=retryable, retry_after=retry_after, request_view=view, response_view=response_view)
