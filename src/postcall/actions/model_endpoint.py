"""ModelEndpoint: where model calls go, as plain data without the key.

It travels inside `ActionSettings`, which a post-call step checkpoints, so it names where the
key is (an environment variable, a file) and never holds it: `api_key()` reads it when the call
is made.  agent.yaml `model:` builds it (docs/models.md; `POSTCALL_MODEL_*` variables override
there, when the agent loads).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from postcall.actions.retry import RetryPolicy
from postcall.errors import ConfigError
from postcall.redaction import register_secret_values

DEFAULT_KEY_ENV = "POSTCALL_MODEL_API_KEY"


@dataclass(frozen=True, slots=True)
class ModelEndpoint:
    """An OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI's v1 API, vLLM,
    Ollama, llama.cpp's server)."""

    base_url: str
    """Up to and including `/v1` (e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`)."""
    model: str
    api_key_env: str = DEFAULT_KEY_ENV
    api_key_file: str | None = None
    timeout_s: float = 10.0
    """One attempt's timeout."""
    budget_s: float = 8.0
    """A whole model call, retries and waits included: a caller never waits longer."""
    max_attempts: int = 3
    max_tokens: int = 300
    temperature: float = 0.2

    def __post_init__(self) -> None:
        checks = (
            (self.base_url.startswith(("http://", "https://")), f"base_url {self.base_url!r} must start with http:// or https://"),
            (bool(self.model), "model must name a model"),
            (self.timeout_s > 0 and self.budget_s > 0, "timeout_s and budget_s must be positive"),
            (self.max_attempts >= 1, "max_attempts must be at least 1"),
        )
        problems = [problem for ok, problem in checks if not ok]
        if problems:
            raise ConfigError("Invalid model endpoint: " + "; ".join(problems) + ".")

    def retry_policy(self, base: RetryPolicy) -> RetryPolicy:
        """The action layer's one retry policy (backoff, Retry-After) with this endpoint's attempts;
        `budget_s` bounds it as a deadline (execute.py)."""
        return replace(base, max_attempts=self.max_attempts)

    def api_key(self) -> str | None:
        """The key, read now from the file or the environment (None: the server needs none).

        Every key read is registered with the redaction, so an endpoint that echoes it (a 401
        body, a proxy's error page) has it masked in whatever the error text reaches."""
        if self.api_key_file:
            try:
                key = Path(self.api_key_file).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(f"The model API key file {self.api_key_file!r} cannot be read: {exc.strerror}.") from exc
        else:
            key = os.environ.get(self.api_key_env) or None
        if key:
            register_secret_values([key])
        return key

    def to_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
            "api_key_file": self.api_key_file,
            "timeout_s": self.timeout_s,
            "budget_s": self.budget_s,
            "max_attempts": self.max_attempts,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelEndpoint:
        return cls(
            base_url=str(data["base_url"]),
            model=str(data["model"]),
            api_key_env=str(data.get("api_key_env") or DEFAULT_KEY_ENV),
            api_key_file=data.get("api_key_file"),
            timeout_s=float(data.get("timeout_s", 10.0)),
            budget_s=float(data.get("budget_s", 8.0)),
            max_attempts=int(data.get("max_attempts", 3)),
            max_tokens=int(data.get("max_tokens", 300)),
            temperature=float(data.get("temperature", 0.2)),
        )
