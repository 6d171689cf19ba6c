"""Post-call topics as durable programs: the bridge between the engine and the durable layer.

The durable layer knows a run only by a program name and JSON input.  The input of a "topic" run
is one typed value, `TopicRunInput` (the post-call topic and the conversation's end snapshot),
written here (`topic_runs`, called by the session when a call ends) and read here
(`TopicProgram`): its JSON shape is defined in this one place.  `register_agent` puts the
program "topic" in the registry its caller hands to an executor (`open_runtime`, `postcall
worker`, `postcall runs redrive`); each run becomes the engine's `PostCallProgram` with the
agent's action settings (retry policy, allowed hosts, flow bindings) for that topic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.model_endpoint import ModelEndpoint
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings, FlowBinding
from postcall.durable.program import ProgramRegistry
from postcall.engine.engine import Engine
from postcall.engine.nodes.backend import expand_env
from postcall.engine.postcall import PostCallProgram
from postcall.engine.state import EndSnapshot
from postcall.errors import ConfigError
from postcall.lifecycle.knowledge import build_index_at_open, open_agent_index
from postcall.redaction import is_secret_name, register_secret_values
from postcall.store import RunSpec, Store
from postcall.topics.agent import Agent
from postcall.topics.loader import load_agent

PROGRAM = "topic"

# `postcall serve` hands its --env overrides to the executor processes it starts through this
# variable (JSON object), so post-call topics see the same Env values as the calls did.
ENV_OVERRIDES_VAR = "POSTCALL_ENV_OVERRIDES"


def action_settings_for(agent: Agent, topic: str | None = None) -> ActionSettings:
    """The action layer's settings for `topic` (or the agent's defaults), from agent.yaml."""
    config = agent.config
    retry = config.retry_for(topic) if topic is not None else config.retry
    flows = {
        flow_id: (
            FlowBinding(url=expand_env(b.url, agent.env), method=b.method, headers=dict(b.headers))
            if b.url is not None
            else FlowBinding(callable=b.python)
        )
        for flow_id, b in config.flows.items()
    }
    return ActionSettings(
        retry=RetryPolicy(
            max_attempts=retry.max_attempts,
            initial_interval_s=retry.initial_interval_seconds,
            backoff_rate=retry.backoff_rate,
            max_interval_s=retry.max_interval_seconds,
        ),
        # Without `allowed_hosts` any public host may be reached; loopback and private
        # addresses are refused unless listed (the durable layer enforces that).
        allowed_hosts=config.allowed_hosts if config.allowed_hosts is not None else ("*",),
        flows=flows,
        run_budget_s=retry.run_timeout_seconds,
        model=model_endpoint(agent),
    )


def model_endpoint(agent: Agent) -> ModelEndpoint | None:
    """agent.yaml `model:` (with the environment's overrides already applied) as the action layer's endpoint."""
    m = agent.config.model
    if m is None:
        return None
    return ModelEndpoint(
        base_url=m.base_url, model=m.model, api_key_env=m.api_key_env, api_key_file=m.api_key_file,
        timeout_s=m.timeout_seconds, budget_s=m.budget_seconds, max_attempts=m.max_attempts,
        max_tokens=m.max_tokens, temperature=m.temperature,
    )


def register_model_key(agent: Agent) -> None:
    """Register the model endpoint's key (env or secret file) with the redaction as soon as the
    endpoint is configured, so it is masked wherever an error copies it (a missing or unreadable
    key file is `check`'s to report, not a start failure)."""
    endpoint = model_endpoint(agent)
    if endpoint is None:
        return
    try:
        endpoint.api_key()  # registers what it reads
    except ConfigError:
        return


@dataclass(frozen=True, slots=True)
class TopicRunInput:
    """The input of a "topic" run: which post-call topic, and the conversation as it ended."""

    topic: str
    end_snapshot: EndSnapshot

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "end_snapshot": dict(self.end_snapshot)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopicRunInput:
        """The inverse of `to_json`; a ConfigError names what a stored input lacks.

        The snapshot's own fields are checked where they are read (`state_from_snapshot`).
        """
        topic = data.get("topic")
        snapshot = data.get("end_snapshot")
        if not isinstance(topic, str) or not topic:
            raise ConfigError(f"A post-call run's input has no topic name (got {topic!r}).")
        if not isinstance(snapshot, dict):
            raise ConfigError(f"The input of the post-call run of {topic!r} has no end snapshot.")
        return cls(topic, cast(EndSnapshot, snapshot))


def topic_runs(topics: Sequence[str], end_snapshot: EndSnapshot) -> list[RunSpec]:
    """The runs to enqueue with a call's end: one "topic" run per post-call topic, in order."""
    return [RunSpec(topic=name, program=PROGRAM, input=TopicRunInput(name, end_snapshot).to_json()) for name in topics]


class TopicProgram:
    """A post-call topic as the durable layer's `Program`."""

    def __init__(self, agent: Agent, engine: Engine, data: dict[str, Any]) -> None:
        run = TopicRunInput.from_json(data)
        self._inner = PostCallProgram(agent, run.topic, run.end_snapshot, engine=engine)
        self._settings = action_settings_for(agent, self._inner.topic.name)

    def start(self) -> ActionRequest | None:
        return self._inner.start()

    def resume(self, result: ActionResult) -> ActionRequest | None:
        return self._inner.resume(result)

    def outcome(self) -> dict[str, Any]:
        return self._inner.outcome()

    def action_settings(self) -> ActionSettings:
        return self._settings


def register_agent(
    programs: ProgramRegistry, agent: Agent, engine: Engine | None = None, *, store: Store | None = None
) -> None:
    """Register the agent's post-call topics (program "topic") with `programs`.

    The agent's `env` values whose names look like secrets (`crm_ApiKey`...) are registered with
    the redaction, so that wherever a formula copies one (a body, a URL) it is masked when shown
    or logged (postcall/redaction.py).  Without `engine`, one is built whose knowledge index is the
    one a server on `store` uses (PostgreSQL's tables, or the agent folder's FTS5 file), with the
    same reranking, so a post-call search answers as an in-call one does.
    """
    register_secret_values(v for k, v in agent.config.env.items() if is_secret_name(k))
    register_model_key(agent)
    root = agent.root if agent.root.is_dir() else agent.root.parent
    if engine is None:
        knowledge = open_agent_index(root, store=store)
        build_index_at_open(knowledge)  # a worker builds it as it starts, not in a run's step
        engine = Engine(agent, knowledge=knowledge)
    shared = engine
    programs.register(PROGRAM, lambda data: TopicProgram(agent, shared, data))


def register_agent_at(programs: ProgramRegistry, agent_path: str | Path, *, store: Store | None = None) -> None:
    """Load the agent at `agent_path` (with `postcall serve`'s Env overrides) and register its programs."""
    overrides = json.loads(os.environ.get(ENV_OVERRIDES_VAR) or "{}")
    result = load_agent(agent_path, env_overrides={str(k): str(v) for k, v in overrides.items()})
    if result.agent is None or result.has_errors:
        first = result.errors[0] if result.errors else None
        where = f" ({first.span}: {first.message})" if first is not None and first.span else ""
        raise ConfigError(
            f"The agent at {str(agent_path)!r} has errors; run `postcall check` on it{where}."
        )
    register_agent(programs, result.agent, store=store)
