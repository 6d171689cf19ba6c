"""InvokeConnectorAction: a Power Platform connector operation, run through agent.yaml.

agent.yaml `connectors:` binds `<connectionReference>/<operationId>` (or `<operationId>`) to an
HTTP endpoint or a Python callable, exactly like a flow; the node suspends with a "flow"
ActionRequest whose `flow_id` is `connector:<key>` (the same binding is in `flows` under that
id), so every runner of flows runs connectors too.  An operation that agent.yaml does not bind
is runtime error RUN460 (`ConnectorNotBound`), handled by OnError.
"""

from __future__ import annotations

from typing import Any

from postcall.actions import ActionResult
from postcall.engine.faults import RUN_CONNECTOR
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.nodes.backend import expand_env, latency, suspend
from postcall.engine.state import Frame
from postcall.engine.values import from_plain, to_plain
from postcall.topics.model import InvokeConnectorAction


def connector_payload(r: Runner, frame: Frame, node: InvokeConnectorAction) -> dict[str, Any]:
    binding = r.agent.config.connector_binding(node.connection_reference, node.operation_id)
    if binding is None:
        raise r.fault(
            f"InvokeConnectorAction {node.id!r}: connector {node.connector} is not bound in "
            f"agent.yaml; add `connectors: {{\"{node.connector}\": {{url: ...}}}}` (or "
            "`{python: \"module:function\"}`), keyed by connectionReference/operationId or by "
            "operationId alone.",
            code=RUN_CONNECTOR, error_code="ConnectorNotBound", frame=frame, node=node.id,
            span=node.span,
        )
    inputs = {
        b.name or "value": to_plain(
            r.eval(b.value, frame, node=node.id, what=f"connector input {b.name!r}")
        )
        for b in node.input
    }
    payload: dict[str, Any] = {
        "flow_id": binding.flow_id,
        "connector": {
            "connection_reference": node.connection_reference,
            "operation_id": node.operation_id,
        },
        "inputs": inputs,
        "timeout_ms": r.eval_int(
            node.request_timeout_ms, frame, default=InvokeConnectorAction.DEFAULT_TIMEOUT_MS,
            node=node.id, what="requestTimeoutInMilliseconds",
        ),
    }
    if binding.url is not None:
        payload.update(url=expand_env(binding.url, r.agent.env), method=binding.method,
                       headers=dict(binding.headers))
    if binding.python is not None:
        payload["python"] = binding.python
    return payload


def run_connector(r: Runner, frame: Frame, node: InvokeConnectorAction) -> Flow:
    payload = connector_payload(r, frame, node)
    latency(r, frame, node)
    return suspend(r, frame, node, "flow", payload)


def apply_connector(
    r: Runner, frame: Frame, node: InvokeConnectorAction, result: ActionResult
) -> Flow:
    """Store the result: a SingleVariableOutputBinding gets the whole outputs record, named
    bindings their output.  A failure follows `errorHandling` as HttpRequestAction does."""
    handling = node.error_handling
    if not result.ok:
        status = result.status_code
        what = f"HTTP {status}" if status is not None else (result.error_category or "error")
        if handling.continue_on_error:
            if handling.status_code is not None:
                r.assign(handling.status_code, status if status is not None else 0, frame)
            if handling.error_response_body is not None:
                body = result.body if result.body is not None else (result.error or "")
                r.assign(handling.error_response_body, body, frame)
            r.info(f"connector {node.connector} failed ({what}); continuing (ContinueOnErrorBehavior)",
                   frame, node.id)
            return Flow.NEXT
        raise r.fault(
            f"Connector {node.connector} ({node.id!r}) failed: {result.error or what}.",
            code=RUN_CONNECTOR, error_code="ConnectorFailed", frame=frame, node=node.id,
            span=node.span,
        )
    for binding in node.output:
        if binding.name:
            value = from_plain(result.outputs.get(binding.name))
        else:
            value = from_plain(dict(result.outputs)) if result.outputs else from_plain(result.json)
        r.assign(binding.variable, value, frame)
    if handling.continue_on_error:
        if handling.status_code is not None:
            r.assign(handling.status_code, result.status_code, frame)
        if handling.error_response_body is not None:
            r.assign(handling.error_response_body, None, frame)
    return Flow.NEXT
