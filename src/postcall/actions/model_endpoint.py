"""ModelEndpoint: where model calls go, as plain data without the key.

It travels inside `ActionSettings`, which a post-call step checkpoints, so it names where the
key is (an environment variable, a file) and never holds it: `api_key()` reads it when the call
is made.  agent.yaml `model:` builds it (docs/models.md); `POSTCALL_MODEL_*` variables override.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postcall.errors import ConfigError

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
        problems = []
        if not self.base_url.startswith(("http://", "https://")):
            problems.append(f"base_url {self.base_url!r} must start with http:// or https://")
        if not self.model:
            problems.append("model must name a model")
        if self.timeout_s <= 0 or self.budget_s <= 0:
            problems.append("timeout_s and budget_s must be positive")
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if problems:
            raise ConfigError("Invalid model endpoint: " + "; ".join(problems) + ".")

    def api_key(self) -> str | None:
        """The key, read now from the file or the environment (None: the server needs none)."""
        if self.api_key_file:
            try:
                return Path(self.api_key_file).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(f"The model API key file {self.api_key_file!r} cannot be read: {exc.strerror}.") from exc
        return os.environ.get(self.api_key_env) or None

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


def endpoint_from_env(base: ModelEndpoint | None, env: Mapping[str, str] | None = None) -> ModelEndpoint | None:
    """`POSTCALL_MODEL_BASE_URL` and `POSTCALL_MODEL` override (or supply) agent.yaml's endpoint."""
    environ = os.environ if env is None else env
    url = environ.get("POSTCALL_MODEL_BASE_URL")
    name = environ.get("POSTCALL_MODEL")
    if not url and not name:
        return base
    if base is None:
        if not (url and name):
            raise ConfigError("POSTCALL_MODEL_BASE_URL and POSTCALL_MODEL must be set together when agent.yaml has no model:.")
        return ModelEndpoint(base_url=url, model=name)
    data = base.to_json()
    if url:
        data["base_url"] = url
    if name:
        data["model"] = name
    return ModelEndpoint.from_json(data)
