"""The action layer: the one implementation of every outbound side effect.

A backend node leaves the engine as an `ActionRequest`; this package carries it out and
hands back an `ActionResult`.  The same code runs in a call (the server's event loop), after
a call (one DBOS step per action, `postcall.durable`), and in `chat`, `call` and the test
harness (`inprocess.InProcessActions`, which may swap the HTTP transport and the waiting
between attempts, never the semantics).  Where each concern lives:

- `types.py`     ActionRequest / ActionResult / TelemetryEvent (plain JSON-able data) and the
                 idempotency key `<conversation>:<topic>:<node>[#n]`.
- `settings.py`  ActionSettings (allowed hosts, timeouts, body limits, run budget) and flow
                 bindings, built from agent.yaml by `lifecycle.programs.action_settings_for`.
- `retry.py`     RetryPolicy (backoff with full jitter, Retry-After), which answers are worth
                 another attempt, and the retry loop `retry_attempts`.
- `hosts.py`     allowed hosts and the refusal of private, loopback and other non-public
                 addresses.
- `http.py`      one HTTP attempt: request building, the Idempotency-Key header, timeout,
                 bounded body, 2xx-only success, redacted views of what was sent and received.
- `flow.py`      one flow or connector attempt: a bound URL (through `http.py`) or a callable.
- `telemetry.py` one LogCustomTelemetryEvent attempt and where its event goes.
- `model.py`     one model call attempt: OpenAI chat completions through the official `openai`
                 SDK, its HTTP client's transport checking allowed hosts on every request;
                 `model_endpoint.py` the endpoint's settings (never the key).
- `execute.py`   `execute_action`: dispatch by kind, the retry loop, logging: the entry point.
- `inprocess.py` `InProcessActions`: `execute_action` for synchronous callers (harness, CLI).

Redaction rules (what counts as a secret) live in `postcall.redaction`, below every layer,
because logs and the API use them too; this package applies them to what it records.

Importing this package imports only the data types (the engine needs them and does no I/O).
"""

from __future__ import annotations

from postcall.actions.types import (
    ActionKind,
    ActionRequest,
    ActionResult,
    TelemetryEvent,
    idempotency_key,
)

__all__ = ["ActionKind", "ActionRequest", "ActionResult", "TelemetryEvent", "idempotency_key"]
