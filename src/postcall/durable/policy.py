"""Retry policy and action settings: what an action may reach, how long it may take, how often it is retried.

Pure data and arithmetic (no I/O), shared by in-call requests and post-call steps.  The
defaults are documented in docs/durable-actions.md; agent.yaml overrides them for the agent
and per topic (the lifecycle layer reads agent.yaml and builds an `ActionSettings`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from postcall.durable.model_endpoint import ModelEndpoint
from postcall.errors import ConfigError

# Statuses retried besides every 5xx: request timeout and too many requests.
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed attempt is retried: exponential backoff with full jitter, honouring Retry-After."""

    max_attempts: int = 5
    """Attempts in all, the first included.  1 means no retry."""

    initial_interval_s: float = 0.5
    """Upper bound of the first backoff, in seconds."""

    backoff_rate: float = 2.0
    """Factor by which the upper bound grows after each attempt."""

    max_interval_s: float = 30.0
    """Cap of the backoff upper bound, in seconds."""

    max_retry_after_s: float = 60.0
    """Cap of a server's Retry-After, in seconds; a longer wait is shortened to this."""

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.initial_interval_s < 0:
            problems.append(f"initial_interval_s must not be negative, not {self.initial_interval_s!r}")
        if self.backoff_rate < 1:
            problems.append(f"backoff_rate must be at least 1, not {self.backoff_rate!r}")
        if self.max_interval_s < 0:
            problems.append(f"max_interval_s must not be negative, not {self.max_interval_s!r}")
        if self.max_retry_after_s < 0:
            problems.append(f"max_retry_after_s must not be negative, not {self.max_retry_after_s!r}")
        if problems:
            raise ConfigError("Invalid retry policy: " + "; ".join(problems) + ".")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter.

        The wait is drawn uniformly from [0, min(max_interval, initial * rate ** (attempt - 1))],
        so that many runs failing together do not retry in lockstep.
        """
        ceiling = min(self.max_interval_s, self.initial_interval_s * self.backoff_rate ** (attempt - 1))
        return (rng or random).uniform(0.0, ceiling)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """The wait before the next attempt: the server's Retry-After (capped) or the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return self.backoff(attempt, rng)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_attempts": self.max_attempts,
            "initial_interval_s": self.initial_interval_s,
            "backoff_rate": self.backoff_rate,
            "max_interval_s": self.max_interval_s,
            "max_retry_after_s": self.max_retry_after_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetryPolicy:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown retry policy field(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}.")
        return cls(**{k: data[k] for k in data})


def is_retryable_status(status_code: int) -> bool:
    """408, 429 and every 5xx are worth another attempt; other statuses are final."""
    return status_code in RETRYABLE_STATUSES or 500 <= status_code <= 599


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


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
