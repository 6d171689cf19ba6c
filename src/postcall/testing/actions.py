"""An in-process action runner for the test harness and the `chat`/`call` commands.

It carries out the engine's ActionRequests directly: HTTP with httpx (sending the request's
`Idempotency-Key` header, refusing hosts outside agent.yaml `allowed_hosts`), flows bound to a
URL (POST of the inputs as JSON) or to a Python callable, and telemetry events (kept in memory).
Production runs go through the durable layer instead; this runner has no retries and no
persistence.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from postcall.actions import ActionRequest, ActionResult
from postcall.hostentries import host_allowed, network_allows, parse_entries, public_allowed
from postcall.topics.agent import Agent


@dataclass
class ActionCall:
    request: ActionRequest
    result: ActionResult

    def to_json(self) -> dict[str, Any]:
        return {"request": self.request.to_json(), "result": self.result.to_json()}


def _host_allowed(url: str, allowed: tuple[str, ...] | None) -> bool:
    """agent.yaml `allowed_hosts` as the runtime reads it (postcall/hostentries.py), without DNS."""
    if allowed is None:
        return True
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    entries, _ = parse_entries(allowed)
    if host_allowed(host, port, entries):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return network_allows(address, port, entries) or (address.is_global and public_allowed(port, entries))


@dataclass
class InProcessActions:
    """Runs ActionRequests now, in this process (see module docstring)."""

    agent: Agent
    http: httpx.Client | None = None
    calls: list[ActionCall] = field(default_factory=list)
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    python_flows: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._own_client = self.http is None
        if self.http is None:
            self.http = httpx.Client(follow_redirects=False)

    def close(self) -> None:
        if self._own_client and self.http is not None:
            self.http.close()

    def execute(self, request: ActionRequest) -> ActionResult:
        try:
            if request.kind == "http":
                result = self._http(request, request.payload)
            elif request.kind == "flow":
                result = self._flow(request)
            elif request.kind == "log":
                self.telemetry.append(
                    {
                        "event_name": request.payload.get("event_name"),
                        "properties": request.payload.get("properties"),
                        "conversation_id": request.conversation_id,
                        "topic": request.topic,
                        "idempotency_key": request.idempotency_key,
                    }
                )
                result = ActionResult(ok=True)
            else:
                result = ActionResult(ok=False, error=f"Unknown action kind {request.kind!r}.", error_category="bad_request")
        except Exception as exc:  # the harness reports every failure as a result, never raises
            result = ActionResult(ok=False, error=f"{type(exc).__name__}: {exc}", error_category="internal")
        self.calls.append(ActionCall(request, result))
        return result

    def _http(self, request: ActionRequest, payload: Mapping[str, Any]) -> ActionResult:
        url = str(payload.get("url", ""))
        if not _host_allowed(url, self.agent.config.allowed_hosts):
            return ActionResult(
                ok=False,
                error=f"Host of {url!r} is not in agent.yaml allowed_hosts.",
                error_category="refused_host",
            )
        headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
        headers.setdefault("Idempotency-Key", request.idempotency_key)
        content_type = payload.get("content_type")
        if content_type:
            headers.setdefault("Content-Type", str(content_type))
        body = payload.get("body")
        timeout = float(payload.get("timeout_ms") or 30000) / 1000.0
        assert self.http is not None
        try:
            response = self.http.request(
                str(payload.get("method", "GET")), url, headers=headers,
                content=body.encode() if isinstance(body, str) else None, timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            return ActionResult(ok=False, error=f"Timed out: {exc}", error_category="timeout")
        except httpx.HTTPError as exc:
            return ActionResult(ok=False, error=f"{type(exc).__name__}: {exc}", error_category="connection")
        text = response.text
        parsed: Any = None
        if "json" in response.headers.get("content-type", "").lower() and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        ok = response.status_code < 400
        return ActionResult(
            ok=ok,
            status_code=response.status_code,
            headers=dict(response.headers),
            body=text,
            json=parsed,
            error=None if ok else f"HTTP {response.status_code}",
            error_category=None if ok else "http_status",
        )

    def _flow(self, request: ActionRequest) -> ActionResult:
        payload = request.payload
        inputs = payload.get("inputs") or {}
        if payload.get("url"):
            result = self._http(
                request,
                {
                    "method": payload.get("method", "POST"),
                    "url": payload["url"],
                    "headers": payload.get("headers") or {},
                    "body": json.dumps(inputs),
                    "content_type": "application/json",
                    "timeout_ms": 30000,
                },
            )
            outputs = result.json if isinstance(result.json, dict) else {}
            return ActionResult(
                ok=result.ok, status_code=result.status_code, headers=result.headers,
                body=result.body, json=result.json, outputs=outputs, error=result.error,
                error_category=result.error_category,
            )
        target = str(payload.get("python", ""))
        func = self.python_flows.get(target) or _import(target)
        outputs = func(dict(inputs))
        return ActionResult(ok=True, outputs=dict(outputs or {}))


def _import(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    func = getattr(module, attr)
    if not callable(func):
        raise TypeError(f"{target!r} is not callable.")
    return func  # type: ignore[no-any-return]
