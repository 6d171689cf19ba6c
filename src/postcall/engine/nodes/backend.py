"""Backend nodes: HttpRequestAction, InvokeFlowAction, LogCustomTelemetryEvent (and the
shared parts of InvokeConnectorAction, nodes/connector.py).

The engine performs none of them.  Each becomes an `ActionRequest` (kind http, flow or log) with
the idempotency key `<conversation id>:<topic>:<node id>` (`#n` for the n-th execution of the
same node), the run suspends, and the caller hands back an `ActionResult`, which `apply_result`
stores in the node's variables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.types import idempotency_key as make_idempotency_key
from postcall.engine.faults import RUN_FLOW, RUN_HTTP, RUN_VALUE
from postcall.engine.interpreter import Flow, LatencyMessage, Runner
from postcall.engine.nodes.messages import message_output
from postcall.engine.schema import SchemaMismatch, coerce, parse_json_text
from postcall.engine.state import Frame
from postcall.engine.values import from_plain, to_plain
from postcall.powerfx.values import Record, Value
from postcall.topics.model import (
    GenerativeAnswers,
    HttpRequestAction,
    InvokeConnectorAction,
    InvokeFlowAction,
    InvokePrompt,
    LogCustomTelemetryEvent,
    Message,
    Node,
)

HTTP_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def idempotency_key(r: Runner, frame: Frame, node_id: str) -> str:
    return make_idempotency_key(r.state.conversation_id, frame.topic, node_id, r.node_run(frame, node_id))


def suspend(r: Runner, frame: Frame, node: Node, kind: str, payload: dict[str, Any]) -> Flow:
    request = ActionRequest(
        kind=kind,  # type: ignore[arg-type]
        node_id=node.id,
        topic=frame.topic,
        conversation_id=r.state.conversation_id,
        idempotency_key=idempotency_key(r, frame, node.id),
        payload=payload,
    )
    r.pending = request
    r.state.pending = {
        "request": request.to_json(),
        "topic": frame.topic,
        "node_id": node.id,
        "depth": len(r.state.stack) - 1,
    }
    if r.steps and r.steps[-1].get("node") == node.id:
        r.steps[-1]["request"] = request.to_json()
    return Flow.SUSPEND


def http_payload(r: Runner, frame: Frame, node: HttpRequestAction) -> dict[str, Any]:
    url = r.eval_text(node.url, frame, node=node.id, what="url") or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise r.fault(
            f"HttpRequestAction {node.id!r} has URL {url!r}; it needs an absolute http(s) URL.",
            code=RUN_VALUE, error_code="InvalidUrl", frame=frame, node=node.id, span=node.url.span,
        )
    method = (
        (r.eval_text(node.method, frame, node=node.id, what="method") or "GET").strip().upper()
        if node.method is not None
        else "GET"
    )
    if method not in HTTP_METHODS:
        raise r.fault(
            f"HttpRequestAction {node.id!r} has method {method!r}; use one of "
            f"{', '.join(HTTP_METHODS)}.",
            code=RUN_VALUE, error_code="InvalidValue", frame=frame, node=node.id,
        )
    headers: dict[str, str] = {}
    for name, expr in node.headers:
        value = r.eval_text(expr, frame, node=node.id, what=f"header {name!r}")
        if value is not None:
            headers[name] = value
    body: str | None = None
    content_type: str | None = None
    if node.body is not None and node.body.kind == "JsonRequestContent":
        content = r.eval(node.body.content, frame, node=node.id, what="the JSON body")
        body = json.dumps(to_plain(content), ensure_ascii=False)
        content_type = "application/json"
    elif node.body is not None and node.body.kind == "RawRequestContent":
        body = r.eval_text(node.body.content, frame, node=node.id, what="the body") or ""
        content_type = r.eval_text(node.body.content_type, frame, node=node.id, what="contentType") or "text/plain"
    for name in list(headers):
        if name.lower() == "content-type":
            content_type = headers.pop(name)
    timeout = r.eval_int(
        node.request_timeout_ms, frame, default=HttpRequestAction.DEFAULT_TIMEOUT_MS,
        node=node.id, what="requestTimeoutInMilliseconds",
    )
    return {
        "method": method,
        "url": url,
        "headers": headers,
        "body": body,
        "content_type": content_type,
        "timeout_ms": timeout,
    }


def latency(
    r: Runner, frame: Frame,
    node: HttpRequestAction | InvokeFlowAction | InvokeConnectorAction | GenerativeAnswers | InvokePrompt,
) -> None:
    """Note the node's 'please wait' message for the caller (played if the action is slow)."""
    settings = node.latency_message
    if r.mode != "call" or settings is None or settings.latency_message is None:
        return
    if not r.eval_bool(settings.allow_latency_message, frame, default=True, node=node.id, what="allowLatencyMessage"):
        return
    if not isinstance(settings.latency_message, Message):
        return
    r.latency = LatencyMessage(
        say=message_output(r, frame, settings.latency_message, node.id),
        delay_ms=r.eval_int(settings.latency_message_delay_ms, frame, default=None, node=node.id, what="latencyMessageDelayInMilliseconds"),
        minimum_playback_ms=r.eval_int(settings.minimum_playback_ms, frame, default=None, node=node.id, what="minimumPlaybackInMilliseconds"),
    )


def run_http(r: Runner, frame: Frame, node: HttpRequestAction) -> Flow:
    payload = http_payload(r, frame, node)
    latency(r, frame, node)
    return suspend(r, frame, node, "http", payload)


def flow_payload(r: Runner, frame: Frame, node: InvokeFlowAction) -> dict[str, Any]:
    binding = r.agent.config.flows.get(node.flow_id)
    if binding is None:
        raise r.fault(
            f"{node.kind} {node.id!r} runs flow {node.flow_id!r}, which agent.yaml does not "
            "bind; add it under `flows:` with a `url` or a `python` callable.",
            code=RUN_FLOW, error_code="FlowNotBound", frame=frame, node=node.id, span=node.span,
        )
    inputs = {
        b.name: to_plain(r.eval(b.value, frame, node=node.id, what=f"flow input {b.name!r}"))
        for b in node.input
    }
    payload: dict[str, Any] = {"flow_id": node.flow_id, "inputs": inputs}
    if binding.url is not None:
        payload.update(url=expand_env(binding.url, r.agent.env), method=binding.method,
                       headers=dict(binding.headers))
    if binding.python is not None:
        payload["python"] = binding.python
    return payload


def expand_env(url: str, env: Mapping[str, str]) -> str:
    """`${NAME}` (or `${Env.NAME}`) in a flow URL replaced by Env.NAME.

    agent.yaml wants flow URLs to start with a scheme, so a base URL held in Env is written
    `http://${crm_BaseUrl}/path`; when the value itself starts with a scheme, the one written
    before it is dropped.
    """

    def sub(match: re.Match[str]) -> str:
        name = match.group(1).removeprefix("Env.")
        return env.get(name, match.group(0))

    out = re.sub(r"\$\{([A-Za-z_][\w.]*)\}", sub, url)
    return re.sub(r"^https?://(?=https?://)", "", out)


def run_flow(r: Runner, frame: Frame, node: InvokeFlowAction) -> Flow:
    payload = flow_payload(r, frame, node)
    latency(r, frame, node)
    return suspend(r, frame, node, "flow", payload)


def run_log(r: Runner, frame: Frame, node: LogCustomTelemetryEvent) -> Flow:
    name = r.eval_text(node.event_name, frame, node=node.id, what="eventName") or node.id
    properties = r.eval(node.properties, frame, node=node.id, what="properties")
    return suspend(r, frame, node, "log", {"event_name": name, "properties": to_plain(properties)})


# ---------------------------------------------------------------------------------------------
# results


def _response_value(r: Runner, frame: Frame, node: HttpRequestAction, result: ActionResult) -> Value:
    value: Value
    if result.json is not None:
        value = from_plain(result.json)
    elif result.body:
        content_type = next(
            (v for k, v in result.headers.items() if k.lower() == "content-type"), ""
        )
        if "json" in content_type.lower() or (node.response_schema is not None and node.response_schema.kind.lower() in {"record", "table"}):
            try:
                value = parse_json_text(result.body)
            except SchemaMismatch:
                value = result.body
        else:
            value = result.body
    else:
        value = None
    if node.response_schema is not None:
        try:
            value = coerce(value, node.response_schema, "response")
        except SchemaMismatch as exc:
            raise r.fault(
                f"The response of HttpRequestAction {node.id!r} does not fit its responseSchema: {exc}.",
                code=RUN_HTTP, error_code="HttpResponseInvalid", frame=frame, node=node.id,
            ) from exc
    return value


def _apply_http(r: Runner, frame: Frame, node: HttpRequestAction, result: ActionResult) -> Flow:
    handling = node.error_handling
    failed = not result.ok or (result.status_code is not None and result.status_code >= 400)
    if failed:
        status = result.status_code
        what = f"HTTP {status}" if status is not None else (result.error_category or "error")
        detail = result.error or (result.body or "")[:200]
        if handling.continue_on_error:
            if handling.status_code is not None:
                r.assign(handling.status_code, status if status is not None else 0, frame)
            if handling.error_response_body is not None:
                r.assign(handling.error_response_body, result.body if result.body is not None else (result.error or ""), frame)
            r.info(f"HTTP request failed ({what}); continuing (ContinueOnErrorBehavior)", frame, node.id)
            return Flow.NEXT
        raise r.fault(
            f"HTTP request {node.id!r} failed: {what}{': ' + detail if detail else ''}.",
            code=RUN_HTTP, error_code="HttpRequestFailed", frame=frame, node=node.id,
            span=node.span,
        )
    if node.response is not None:
        r.assign(node.response, _response_value(r, frame, node, result), frame)
    if node.response_headers is not None:
        r.assign(node.response_headers, Record(dict(result.headers)), frame)
    if handling.continue_on_error:
        if handling.status_code is not None:
            r.assign(handling.status_code, result.status_code, frame)
        if handling.error_response_body is not None:
            r.assign(handling.error_response_body, None, frame)
    return Flow.NEXT


def _apply_flow(r: Runner, frame: Frame, node: InvokeFlowAction, result: ActionResult) -> Flow:
    if not result.ok:
        raise r.fault(
            f"Flow {node.flow_id!r} ({node.id!r}) failed: {result.error or result.error_category or 'error'}.",
            code=RUN_FLOW, error_code="FlowFailed", frame=frame, node=node.id, span=node.span,
        )
    for binding in node.output:
        r.assign(binding.variable, from_plain(result.outputs.get(binding.name)), frame)
    return Flow.NEXT


def apply_backend_result(r: Runner, frame: Frame, node: Node, result: ActionResult) -> Flow:
    """Resume an HttpRequestAction, InvokeFlowAction or LogCustomTelemetryEvent with its result."""
    if isinstance(node, HttpRequestAction):
        return _apply_http(r, frame, node, result)
    if isinstance(node, InvokeFlowAction):
        return _apply_flow(r, frame, node, result)
    if not result.ok:
        r.warn(f"telemetry event not recorded: {result.error or 'error'}", frame, node.id)
    return Flow.NEXT
