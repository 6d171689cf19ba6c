"""AgentConfig: the runtime settings of agent.yaml as frozen values with documented defaults.

docs/agent-yaml.md documents every field.  Secrets never appear here in clear: agent.yaml names
files (`auth_token_file`, `secret_file`) or the process environment holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FlowBinding:
    """How an InvokeFlowAction `flowId` runs: an HTTP call (`url`) or a Python callable
    (`python: "package.module:function"`).  Exactly one of `url` and `python` is set."""

    flow_id: str
    url: str | None = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=_empty)
    python: str | None = None


# agent.yaml `connectors:` bindings run as flows; their flow id is this prefix + the key.
CONNECTOR_FLOW_PREFIX = "connector:"


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    voice: str | None = None  # provider voice name, e.g. Polly.Joanna
    language: str | None = None  # speech language; None = the agent's language
    silence_timeout_ms: int = 5000
    speech_end_timeout_ms: int = 1500
    interdigit_timeout_ms: int = 3000
    dtmf_termination_key: str = "#"


@dataclass(frozen=True, slots=True)
class Limits:
    idle_timeout_seconds: float = 300.0
    max_duration_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """agent.yaml's `retry:` values for backend actions in post-call topics.

    Only the values: the waits are computed in one place, `postcall.actions.retry.RetryPolicy`
    (exponential backoff with full jitter, Retry-After), which `lifecycle.programs.action_settings_for`
    builds from these fields."""

    max_attempts: int = 5
    initial_interval_seconds: float = 0.5
    backoff_rate: float = 2.0
    max_interval_seconds: float = 30.0
    run_timeout_seconds: float = 600.0


@dataclass(frozen=True, slots=True)
class TopicSettings:
    retry: RetryPolicy | None = None


@dataclass(frozen=True, slots=True)
class TwilioTransferToAgent:
    """How a TransferToAgent transfer is carried out on Twilio: `enqueue` into a TaskRouter
    workflow (`workflow_sid`) or `dial` a `target` (phone number or SIP URI)."""

    mode: Literal["enqueue", "dial"] = "dial"
    workflow_sid: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class TwilioChannel:
    auth_token_file: str | None = None  # absolute path (resolved against the agent root)
    public_base_url: str | None = None
    caller_id: str | None = None
    transfer_to_agent: TwilioTransferToAgent | None = None

    AUTH_TOKEN_ENV: ClassVar[str] = "TWILIO_AUTH_TOKEN"


@dataclass(frozen=True, slots=True)
class EventsChannel:
    secret_file: str | None = None  # absolute path (resolved against the agent root)
    replay_window_seconds: int = 300

    SECRET_ENV: ClassVar[str] = "POSTCALL_EVENTS_SECRET"


@dataclass(frozen=True, slots=True)
class Channels:
    twilio: TwilioChannel | None = None
    events: EventsChannel | None = None


RECOGNIZER_KINDS = ("embedded", "lexical", "llm", "http")
RECOGNIZER_AUTH = ("hmac", "bearer")


@dataclass(frozen=True, slots=True)
class RecognizerSettings:
    """agent.yaml `recognizer:`: which recogniser picks topics, and its decision thresholds.

    `kind` is `embedded` (the default: static embeddings + lexical evidence, fitted on the
    agent's phrases), `lexical` (the word-overlap PhraseRecognizer), `llm` (the agent's
    `model:` endpoint chooses among the topics) or `http` (an external NLU at `url`).  The last
    two fall back to the embedded recogniser when no valid answer comes within
    `timeout_seconds`.  A threshold left None keeps the recogniser's calibrated default
    (docs/engine.md).  `secret_env` names the variable holding the http NLU's secret (never
    the secret itself); `auth` says how it is used: `hmac` signs each request, `bearer` sends it.
    """

    kind: str = "embedded"
    match_threshold: float | None = None
    similarity_floor: float | None = None
    ambiguity_ratio: float | None = None
    strong: float | None = None
    timeout_seconds: float = 3.0
    url: str | None = None
    secret_env: str | None = None
    auth: str = "hmac"
    min_score: float = 0.5


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """agent.yaml `model:`: an OpenAI-compatible chat-completions endpoint (docs/models.md).
    The key is never here: `api_key_env` names a variable, `api_key_file` a file."""

    base_url: str
    model: str
    api_key_env: str = "POSTCALL_MODEL_API_KEY"
    api_key_file: str | None = None
    timeout_seconds: float = 10.0
    budget_seconds: float = 8.0
    max_attempts: int = 3
    max_tokens: int = 300
    temperature: float = 0.2


@dataclass(frozen=True, slots=True)
class PromptDefinition:
    """agent.yaml `prompts:` entry: the text of an InvokeAIBuilderModelAction's prompt (`{Name}`
    holes are filled from the node's input bindings) and its output: "text" or a JSON schema."""

    key: str
    text: str
    output_schema: Mapping[str, object] | None = None
    skip_without_caller_speech: bool = True


@dataclass(frozen=True, slots=True)
class KnowledgeSettings:
    """agent.yaml `knowledge:`."""

    response_confidence: float = 0.5
    max_passages: int = 3
    answer_words: int = 45


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of a call's data is kept, in days after the call ended (None: forever).

    `transcripts`: what was said (the activity history); `variables`: the saved variables of
    the conversation and the inputs of its finished post-call runs; `request_bodies`: the
    requests and responses of post-call steps; `conversations`: everything of the call.
    `purge_interval_minutes`: how often `serve` purges (0: never; run `postcall purge`).
    """

    transcripts_days: float | None = None
    variables_days: float | None = None
    request_bodies_days: float | None = None
    conversations_days: float | None = None
    purge_interval_minutes: float = 60.0

    KEYS: ClassVar[tuple[str, ...]] = (
        "transcripts_days", "variables_days", "request_bodies_days", "conversations_days", "purge_interval_minutes",
    )  # fmt: skip

    @property
    def keeps_everything(self) -> bool:
        return all(
            d is None
            for d in (self.transcripts_days, self.variables_days, self.request_bodies_days, self.conversations_days)
        )


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Settings from agent.yaml (or defaults when the agent has none).

    `env` already has the command line's `--env NAME=VALUE` overrides applied.  `connectors`
    maps a `connectors:` key to its binding; the same bindings are in `flows` under their
    flow id `connector:<key>`, so whatever runs flows runs connector actions too.
    `allowed_hosts` None means HTTP actions are not restricted by host.
    """

    name: str = "agent"
    language: str = "en-US"
    env: Mapping[str, str] = field(default_factory=_empty)
    flows: Mapping[str, FlowBinding] = field(default_factory=lambda: MappingProxyType({}))
    connectors: Mapping[str, FlowBinding] = field(default_factory=lambda: MappingProxyType({}))
    allowed_hosts: tuple[str, ...] | None = None
    voice: VoiceSettings = VoiceSettings()
    limits: Limits = Limits()
    retry: RetryPolicy = RetryPolicy()
    topic_settings: Mapping[str, TopicSettings] = field(
        default_factory=lambda: MappingProxyType({})
    )
    channels: Channels = Channels()
    recognizer: RecognizerSettings = RecognizerSettings()
    retention: Retention = Retention()
    model: ModelSettings | None = None
    prompts: Mapping[str, PromptDefinition] = field(default_factory=lambda: MappingProxyType({}))
    knowledge: KnowledgeSettings = KnowledgeSettings()

    def connector_binding(self, connection_reference: str, operation_id: str) -> FlowBinding | None:
        """The `connectors:` binding of an InvokeConnectorAction: the key
        `<connectionReference>/<operationId>` first, then `<operationId>` alone."""
        return self.connectors.get(f"{connection_reference}/{operation_id}") or (
            self.connectors.get(operation_id)
        )

    def retry_for(self, topic_name: str) -> RetryPolicy:
        """The retry policy of a topic: its `topic_settings` override, else the agent's."""
        settings = self.topic_settings.get(topic_name)
        if settings is not None and settings.retry is not None:
            return settings.retry
        return self.retry
