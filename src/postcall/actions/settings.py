"""Action settings: what an action may reach, how long it may take, where flows go.

Pure data (no I/O), the same for in-call requests, post-call steps, `chat`, `call` and the
test harness.  The defaults are documented in docs/durable-actions.md; agent.yaml overrides
them for the agent and per topic (`lifecycle.programs.action_settings_for` builds one).  The
retry policy itself lives in `retry.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from postcall.actions.model_endpoint import ModelEndpoint
from postcall.actions.retry import RetryPolicy
from postcall.errors import ConfigError


@dataclass(frozen=True, slots=True)
class FlowBinding:
    """Where an InvokeFlowAction's `flowId` goes: an HTTP endpoint or a Python callable.

    Exactly one of `url` and `callable` is set.  An HTTP flow receives the inputs as a JSON
    object (POST by default) and answers the outputs as a JSON object.  A callable is named
    `module:function`; it takes the inputs dict and returns the outputs dict (it may be async).
    """

    url: str | None = None
    callable: str | None = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.url is None) == (self.callable is None):
            raise ConfigError("A flow binding needs exactly one of 'url' and 'callable'.")
        if self.callable is not None and ":" not in self.callable:
            raise ConfigError(
                f"Flow callable {self.callable!r} must be written 'module:function', e.g. 'myflows:close_case'."
            )

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "callable": self.callable, "method": self.method, "headers": dict(self.headers)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowBinding:
        return cls(
            url=data.get("url"),
            callable=data.get("callable"),
            method=str(data.get("method") or "POST").upper(),
            headers=dict(data.get("headers") or {}),
        )


@dataclass(frozen=True, slots=True)
class ActionSettings:
    """Everything the action layer needs besides the request itself.

    A post-call run takes them from its program (`Program.action_settings()`); an in-call
    request takes them from the lifecycle layer.  Both go through the same `execute_action`.
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Retry policy of each action."""

    allowed_hosts: tuple[str, ...] = ("*",)
    """Hosts HTTP actions may reach.  "*" allows any public address; loopback, private,
    link-local and other non-public addresses are refused unless an entry names them: a host
    name ("crm.internal"), a wildcard ("*.corp.example"), an address ("10.0.0.5") or a network
    ("10.0.0.0/8").  An empty tuple refuses everything."""

    flows: Mapping[str, FlowBinding] = field(default_factory=dict)
    """InvokeFlowAction bindings by flowId."""

    request_timeout_s: float = 30.0
    """Timeout of one HTTP request when the node sets no requestTimeoutInMilliseconds."""

    run_budget_s: float = 600.0
    """Wall-clock budget of a whole post-call run, from its start (or redrive)."""

    max_response_bytes: int = 1_048_576
    """Longest response body kept in a result; longer bodies are cut."""

    recorded_body_chars: int = 4096
    """Longest request or response body kept in a run's step history."""

    model: ModelEndpoint | None = None
    """The model endpoint of "model" actions (agent.yaml `model:`); None: no model configured."""

    def __post_init__(self) -> None:
        problems = []
        if self.request_timeout_s <= 0:
            problems.append(f"request_timeout_s must be positive, not {self.request_timeout_s!r}")
        if self.run_budget_s <= 0:
            problems.append(f"run_budget_s must be positive, not {self.run_budget_s!r}")
        if self.max_response_bytes < 0 or self.recorded_body_chars < 0:
            problems.append("max_response_bytes and recorded_body_chars must not be negative")
        if problems:
            raise ConfigError("Invalid action settings: " + "; ".join(problems) + ".")

    def with_changes(self, **changes: Any) -> ActionSettings:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "retry": self.retry.to_json(),
            "allowed_hosts": list(self.allowed_hosts),
            "flows": {name: binding.to_json() for name, binding in self.flows.items()},
            "request_timeout_s": self.request_timeout_s,
            "run_budget_s": self.run_budget_s,
            "max_response_bytes": self.max_response_bytes,
            "recorded_body_chars": self.recorded_body_chars,
            "model": self.model.to_json() if self.model is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ActionSettings:
        defaults = cls()
        return cls(
            retry=RetryPolicy.from_json(data.get("retry") or {}),
            allowed_hosts=tuple(data.get("allowed_hosts", defaults.allowed_hosts)),
            flows={str(k): FlowBinding.from_json(v) for k, v in (data.get("flows") or {}).items()},
            request_timeout_s=float(data.get("request_timeout_s", defaults.request_timeout_s)),
            run_budget_s=float(data.get("run_budget_s", defaults.run_budget_s)),
            max_response_bytes=int(data.get("max_response_bytes", defaults.max_response_bytes)),
            recorded_body_chars=int(data.get("recorded_body_chars", defaults.recorded_body_chars)),
            model=ModelEndpoint.from_json(data["model"]) if data.get("model") else None,
        )
