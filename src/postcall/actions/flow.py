"""InvokeFlowAction: a flowId bound in agent.yaml to an HTTP endpoint or to a Python callable `module:function`."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from postcall.actions.hosts import Resolver
from postcall.actions.http import send_once
from postcall.actions.retry import AttemptOutcome
from postcall.actions.settings import ActionSettings, FlowBinding
from postcall.actions.types import ActionRequest, ActionResult
from postcall.errors import ActionError
from postcall.redaction import redact_json, truncate

_callables: dict[str, Callable[..., Any]] = {}


def load_callable(path: str) -> Callable[..., Any]:
    """Import `module:function` (cached); ActionError(category "bad_request") if it is not there."""
    cached = _callables.get(path)
    if cached is not None:
        return cached
    module_name, _, attr = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ActionError(
            f"Flow callable {path!r} could not be loaded: {type(exc).__name__}: {exc}.",
            retryable=False,
            category="bad_request",
        ) from exc
    if not callable(target):
        raise ActionError(f"Flow callable {path!r} is not callable.", retryable=False, category="bad_request")
    _callables[path] = target
    return target  # type: ignore[no-any-return]


def binding_for(request: ActionRequest, settings: ActionSettings) -> FlowBinding:
    flow_id = str(request.payload.get("flow_id") or "")
    binding = settings.flows.get(flow_id)
    if binding is None:
        known = ", ".join(sorted(settings.flows)) or "none"
        raise ActionError(
            f"Flow {flow_id!r} of node {request.node_id!r} is not bound in agent.yaml (bound flows: {known}).",
            retryable=False,
            category="bad_request",
        )
    return binding


def _outputs_from(value: Any, flow_id: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if value is None:
        return {}
    raise ActionError(
        f"Flow {flow_id!r} returned {type(value).__name__}, not an object of outputs.",
        retryable=False,
        category="bad_response",
    )


async def flow_once(
    request: ActionRequest,
    settings: ActionSettings,
    client: httpx.AsyncClient,
    seconds_left: float | None,
    *,
    resolver: Resolver | None = None,
) -> AttemptOutcome:
    """Run the bound flow once; never raises for a failed flow."""
    try:
        binding = binding_for(request, settings)
    except ActionError as exc:
        return AttemptOutcome(ActionResult(ok=False, error=str(exc), error_category=exc.category))
    flow_id = str(request.payload.get("flow_id"))
    inputs = dict(request.payload.get("inputs") or {})
    if binding.url is not None:
        http_request = ActionRequest(
            kind="http",
            node_id=request.node_id,
            topic=request.topic,
            conversation_id=request.conversation_id,
            idempotency_key=request.idempotency_key,
            payload={
                "method": binding.method,
                "url": binding.url,
                "headers": dict(binding.headers),
                "body": json.dumps(inputs),
                "content_type": "application/json",
                "timeout_ms": request.payload.get("timeout_ms"),
            },
        )
        outcome = await send_once(http_request, settings, client, seconds_left, resolver=resolver)
        result = outcome.result
        if result.ok:
            try:
                if result.json is None and (result.body or "").strip():
                    raise ActionError(
                        f"Flow {flow_id!r} answered a body that is not JSON.", retryable=False, category="bad_response"
                    )
                outputs = _outputs_from(result.json, flow_id)
            except ActionError as exc:
                outcome.result = ActionResult(
                    ok=False, status_code=result.status_code, body=result.body, error=str(exc), error_category=exc.category
                )
                return outcome
            outcome.result = ActionResult(ok=True, status_code=result.status_code, body=result.body, json=result.json, outputs=outputs)
        return outcome
    view = {"flow": flow_id, "callable": binding.callable, "inputs": redact_json(inputs)}
    assert binding.callable is not None
    timeout = settings.request_timeout_s
    if request.payload.get("timeout_ms"):
        timeout = float(request.payload["timeout_ms"]) / 1000.0
    if seconds_left is not None:
        timeout = max(0.001, min(timeout, seconds_left))
    try:
        function = load_callable(binding.callable)
        if inspect.iscoroutinefunction(function):
            value = await asyncio.wait_for(function(inputs), timeout)
        else:
            value = await asyncio.wait_for(asyncio.to_thread(function, inputs), timeout)
        outputs = _outputs_from(value, flow_id)
    except TimeoutError:
        return AttemptOutcome(
            ActionResult(ok=False, error=f"Flow {flow_id!r} did not finish within {timeout:g} s.", error_category="timeout"),
            retryable=True,
            request_view=view,
        )
    except ActionError as exc:
        return AttemptOutcome(
            ActionResult(ok=False, error=str(exc), error_category=exc.category),
            retryable=exc.retryable,
            retry_after=exc.retry_after,
            request_view=view,
        )
    except Exception as exc:  # a flow is user code: any failure becomes a failed result
        return AttemptOutcome(
            ActionResult(ok=False, error=f"Flow {flow_id!r} raised {type(exc).__name__}: {exc}", error_category="flow_error"),
            request_view=view,
        )
    return AttemptOutcome(
        ActionResult(ok=True, outputs=outputs),
        request_view=view,
        response_view={"outputs": truncate(json.dumps(redact_json(outputs), default=str), settings.recorded_body_chars)},
    )

