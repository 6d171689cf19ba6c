"""agent.yaml (and a VS Code workspace's agent.mcs.yml) to AgentConfig, with diagnostics.

Every key is documented in docs/agent-yaml.md.  Unknown keys warn; wrong values are errors and
fall back to the default; a secret written in clear is an error (secrets live in files named by
`*_file` keys or in environment variables, never in agent.yaml).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from postcall.diagnostics import Severity, SourceSpan, did_you_mean
from postcall.hostentries import entry_problem, refused_now
from postcall.topics import codes
from postcall.topics.build import FileContext, kind_name, start_span
from postcall.topics.config import (
    CONNECTOR_FLOW_PREFIX,
    RECOGNIZER_AUTH,
    RECOGNIZER_KINDS,
    AgentConfig,
    Channels,
    EventsChannel,
    FlowBinding,
    KnowledgeSettings,
    Limits,
    ModelSettings,
    PromptDefinition,
    RecognizerSettings,
    Retention,
    RetryPolicy,
    TopicSettings,
    TwilioChannel,
    TwilioTransferToAgent,
    VoiceSettings,
)
from postcall.topics.source import TAG_STR, YMap, YNode, YScalar, YSeq, to_json

TOP_KEYS = (
    "name", "bot_name", "language", "description", "env", "flows", "connectors", "allowed_hosts",
    "voice", "limits", "retry", "topic_settings", "channels", "recognizer", "retention", "model",
    "prompts", "knowledge",
)  # fmt: skip
_SECRET_WORDS = re.compile(r"(token|secret|password|api_?key)$", re.IGNORECASE)
_PYTHON_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class _Reader:
    """Typed access to one agent.yaml mapping with diagnostics (never raises)."""

    def __init__(self, fc: FileContext, node: YMap, where: str, known: tuple[str, ...]) -> None:
        self.fc, self.node, self.where = fc, node, where
        for key, _ in node.entries:
            if key.value not in known:
                if _SECRET_WORDS.search(key.value):
                    self.secret(key, node.get(key.value))
                    continue
                guess = did_you_mean(key.value, known)
                fc.add(
                    codes.CONFIG_UNKNOWN_KEY,
                    f"{where} has no key '{key.value}'; it is ignored.",
                    key.span,
                    hint=f"did you mean '{guess}'?" if guess else None,
                )

    def secret(self, key: YScalar, value: YNode | None = None) -> None:
        env_hint = {
            "auth_token": "set TWILIO_AUTH_TOKEN in the environment or use auth_token_file",
            "secret": "set POSTCALL_EVENTS_SECRET in the environment or use secret_file",
        }.get(key.value, f"use {key.value}_file or an environment variable")
        self.fc.add(
            codes.CONFIG_SECRET,
            f"{self.where} holds '{key.value}' in clear; secrets do not belong in agent.yaml.",
            key.span,
            hint=env_hint,
            mask=value.span if value is not None else None,  # the excerpt never shows the value
        )

    def bad(self, node: YNode, message: str) -> None:
        self.fc.add(codes.CONFIG_BAD_VALUE, f"{self.where}: {message}", start_span(node.span))

    def get(self, key: str) -> YNode | None:
        node = self.node.get(key)
        if isinstance(node, YScalar) and node.is_null:
            return None
        return node

    def text(self, key: str, default: str | None = None) -> str | None:
        node = self.get(key)
        if node is None:
            return default
        if not isinstance(node, YScalar):
            self.bad(node, f"'{key}' must be text, not {kind_name(node)}.")
            return default
        return node.value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node, YScalar) and node.quoted and node.tag == TAG_STR:
            self.bad(node, f"'{key}' must be a number, not the text \"{node.value}\" (write it without quotes).")
            return default
        try:
            if not isinstance(node, YScalar):
                raise ValueError
            value = float(node.value)
            if value != value or value < minimum or value == float("inf"):
                raise ValueError
        except ValueError:
            self.bad(
                node, f"'{key}' must be a number of at least {minimum:g}, not {kind_name(node)}."
            )
            return default
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node, YScalar) and node.quoted and node.tag == TAG_STR:
            self.bad(node, f"'{key}' must be a whole number, not the text \"{node.value}\" (write it without quotes).")
            return default
        if (
            isinstance(node, YScalar)
            and re.fullmatch(r"[-+]?\d+", node.value)
            and int(node.value) >= minimum
        ):
            return int(node.value)
        self.bad(
            node, f"'{key}' must be a whole number of at least {minimum}, not {kind_name(node)}."
        )
        return default

    def mapping(self, key: str) -> YMap | None:
        node = self.get(key)
        if node is None:
            return None
        if not isinstance(node, YMap):
            self.bad(node, f"'{key}' must be a mapping, not {kind_name(node)}.")
            return None
        return node

    def path(self, key: str, root: Path) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (root / p).resolve())


_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
)


def _string_map(r: _Reader, node: YMap, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in node.entries:
        if (
            (_SECRET_WORDS.search(key.value) or key.value.lower() in _SECRET_HEADERS)
            and isinstance(value, YScalar)
            and value.value
            and not value.value.startswith("=")
        ):
            r.fc.add(
                codes.CONFIG_SECRET,
                f"{r.where}: {what} '{key.value}' looks like a secret written in clear in agent.yaml.",
                key.span,
                hint="pass it at run time with --env NAME=VALUE (or the process environment) instead",
                severity=Severity.WARNING,
                mask=value.span,
            )
        if isinstance(value, YScalar):
            out[key.value] = "" if value.is_null else value.value
        else:
            r.bad(value, f"{what} '{key.value}' must be text, not {kind_name(value)}.")
    return out


def _retry(fc: FileContext, node: YMap, where: str, base: RetryPolicy) -> RetryPolicy:
    r = _Reader(
        fc,
        node,
        where,
        (
            "max_attempts",
            "initial_interval_seconds",
            "backoff_rate",
            "max_interval_seconds",
            "run_timeout_seconds",
        ),
    )
    return RetryPolicy(
        max_attempts=r.integer("max_attempts", base.max_attempts, minimum=1),
        initial_interval_seconds=r.number(
            "initial_interval_seconds", base.initial_interval_seconds
        ),
        backoff_rate=r.number("backoff_rate", base.backoff_rate, minimum=1.0),
        max_interval_seconds=r.number("max_interval_seconds", base.max_interval_seconds),
        run_timeout_seconds=r.number(
            "run_timeout_seconds", base.run_timeout_seconds, minimum=0.001
        ),
    )


def _flows(
    fc: FileContext, node: YMap, section: str = "flows", id_prefix: str = ""
) -> dict[str, FlowBinding]:
    """Bindings of `flows:` (or `connectors:`), keyed as written; each binding's flow_id is
    `id_prefix` + the key."""
    out: dict[str, FlowBinding] = {}
    for key, value in node.entries:
        where = f"{section}['{key.value}']"
        if not isinstance(value, YMap):
            fc.add(
                codes.CONFIG_BAD_VALUE,
                f"{where} must be a mapping with url or python.",
                start_span(value.span),
            )
            continue
        r = _Reader(fc, value, where, ("url", "method", "headers", "python"))
        url, python = r.text("url"), r.text("python")
        if (url is None) == (python is None):
            fc.add(
                codes.CONFIG_BAD_VALUE,
                f"{where} needs exactly one of 'url' and 'python'.",
                start_span(value.span),
            )
            continue
        if url is not None and not re.match(r"https?://", url):
            r.bad(value.get("url") or value, f"url '{url}' must start with http:// or https://.")
            continue
        if python is not None and not _PYTHON_REF.match(python):
            r.bad(
                value.get("python") or value,
                f"python '{python}' must look like package.module:function.",
            )
            continue
        method = (r.text("method", "POST") or "POST").upper()
        if method not in _HTTP_METHODS:
            r.bad(
                value.get("method") or value,
                f"method '{method}' must be one of {', '.join(_HTTP_METHODS)}.",
            )
            method = "POST"
        headers_node = r.mapping("headers")
        headers = _string_map(r, headers_node, "header") if headers_node is not None else {}
        out[key.value] = FlowBinding(
            id_prefix + key.value, url, method, MappingProxyType(headers), python
        )
    return out


def _channels(fc: FileContext, node: YMap, root: Path) -> Channels:
    r = _Reader(fc, node, "channels", ("twilio", "events"))
    twilio = None
    tnode = r.mapping("twilio")
    if tnode is not None:
        tr = _Reader(
            fc,
            tnode,
            "channels.twilio",
            ("auth_token_file", "public_base_url", "caller_id", "transfer_to_agent"),
        )
        transfer = None
        anode = tr.mapping("transfer_to_agent")
        if anode is not None:
            ar = _Reader(
                fc, anode, "channels.twilio.transfer_to_agent", ("mode", "workflow_sid", "target")
            )
            mode = ar.text("mode", "dial")
            if mode not in ("enqueue", "dial"):
                ar.bad(anode.get("mode") or anode, f"mode '{mode}' must be enqueue or dial.")
                mode = "dial"
            sid, target = ar.text("workflow_sid"), ar.text("target")
            if mode == "enqueue" and not sid:
                ar.bad(anode, "mode enqueue needs workflow_sid.")
            if mode == "dial" and not target:
                ar.bad(anode, "mode dial needs target (a phone number or SIP URI).")
            transfer = TwilioTransferToAgent(
                "enqueue" if mode == "enqueue" else "dial", sid, target
            )
        base_url = tr.text("public_base_url")
        if base_url is not None and not re.match(r"https?://", base_url):
            tr.bad(
                tnode.get("public_base_url") or tnode,
                f"public_base_url '{base_url}' must start with http:// or https://.",
            )
            base_url = None
        twilio = TwilioChannel(
            auth_token_file=tr.path("auth_token_file", root),
            public_base_url=base_url.rstrip("/") if base_url else None,
            caller_id=tr.text("caller_id"),
            transfer_to_agent=transfer,
        )
    events = None
    enode = r.mapping("events")
    if enode is not None:
        er = _Reader(fc, enode, "channels.events", ("secret_file", "replay_window_seconds"))
        events = EventsChannel(
            secret_file=er.path("secret_file", root),
            replay_window_seconds=er.integer("replay_window_seconds", 300, minimum=1),
        )
    return Channels(twilio=twilio, events=events)


def _recognizer(fc: FileContext, node: YMap) -> RecognizerSettings:
    r = _Reader(
        fc, node, "recognizer",
        ("kind", "match_threshold", "similarity_floor", "ambiguity_ratio", "strong",
         "timeout_seconds", "url", "secret_env", "auth", "min_score"),
    )
    kind_node = node.get("kind")
    if isinstance(kind_node, YScalar) and (kind_node.is_null or not kind_node.value.strip()):
        # an error, as an unknown kind is: whoever wrote the key meant to choose one, and
        # silently running the embedded one could hide an llm/http setting that never applies
        r.bad(kind_node, f"recognizer.kind is empty; write one of {', '.join(RECOGNIZER_KINDS)} "
                         "(or leave the key out for embedded).")
    kind = r.text("kind", "embedded") or "embedded"
    if kind not in RECOGNIZER_KINDS:
        r.bad(
            node.get("kind") or node,
            f"recognizer kind '{kind}' is not one of {', '.join(RECOGNIZER_KINDS)}.",
        )
        kind = "embedded"
    declared = kind  # the warnings below speak of the kind written, even if an error replaces it

    def optional(key: str) -> float | None:
        if node.get(key) is None:
            return None
        value = r.number(key, -1.0, minimum=0.0)
        if value > 1.0:
            r.bad(node.get(key) or node, f"recognizer.{key} must be between 0 and 1.")
            return None
        return value if value >= 0 else None

    defaults = RecognizerSettings()
    url = r.text("url")
    if kind == "http" and not url:
        r.bad(node, "recognizer kind 'http' needs url: the NLU endpoint, e.g. https://nlu.example.com/recognize.")
        kind = "embedded"
    elif url is not None and not re.match(r"https?://", url):
        r.bad(node.get("url") or node, f"recognizer.url '{url}' must start with http:// or https://.")
        url = None
        kind = "embedded" if kind == "http" else kind
    auth = r.text("auth", defaults.auth) or defaults.auth
    if auth not in RECOGNIZER_AUTH:
        r.bad(node.get("auth") or node, f"recognizer.auth '{auth}' must be one of {', '.join(RECOGNIZER_AUTH)}.")
        auth = defaults.auth
    _no_effect(fc, node, declared)
    return RecognizerSettings(
        kind=kind,
        match_threshold=optional("match_threshold"),
        similarity_floor=optional("similarity_floor"),
        ambiguity_ratio=optional("ambiguity_ratio"),
        strong=optional("strong"),
        timeout_seconds=r.number("timeout_seconds", defaults.timeout_seconds, minimum=0.001),
        url=url,
        secret_env=r.text("secret_env"),
        auth=auth,
        min_score=defaults.min_score if (min_score := optional("min_score")) is None else min_score,
    )


_THRESHOLDS = ("match_threshold", "similarity_floor", "ambiguity_ratio", "strong")
RECOGNIZER_READS: dict[str, tuple[str, ...]] = {
    "lexical": ("match_threshold", "strong"),
    "embedded": _THRESHOLDS,
    # the remote kinds fall back to the embedded recogniser, which reads its thresholds
    "llm": (*_THRESHOLDS, "timeout_seconds"),
    "http": (*_THRESHOLDS, "timeout_seconds", "url", "secret_env", "auth", "min_score"),
}
"""The `recognizer:` keys each kind reads (recognizer_from_settings builds each from these)."""


def _no_effect(fc: FileContext, node: YMap, kind: str) -> None:
    """Warn at each recognizer setting the chosen kind does not read, and when an http
    recogniser has no secret (its requests carry the caller's words unsigned)."""
    reads = RECOGNIZER_READS.get(kind, ())
    for key, value in node.entries:
        if key.value == "kind" or key.value not in RECOGNIZER_READS["http"] or key.value in reads:
            continue
        if isinstance(value, YScalar) and value.is_null:
            continue
        users = [k for k in RECOGNIZER_KINDS if key.value in RECOGNIZER_READS[k]]
        fc.add(codes.CONFIG_NO_EFFECT,
               f"recognizer.{key.value} has no effect with kind {kind} (only {', '.join(users)} read{'s' if len(users) == 1 else ''} it); it is ignored.",
               key.span, hint=f"kind {kind} reads {', '.join(reads)}; remove {key.value} or change kind.")
    secret = node.get("secret_env")
    if kind == "http" and (secret is None or (isinstance(secret, YScalar) and secret.is_null)):
        auth = node.get("auth")
        fc.add(codes.CONFIG_UNSIGNED,
               "recognizer: the http recogniser has no secret_env, so the caller's words go to the NLU unsigned "
               "(no X-Postcall-Signature, no bearer token)" + (" and auth is ignored" if auth is not None else "")
               + ": the NLU cannot tell postcall's requests from anyone's.",
               start_span((node.get("kind") or node).span),
               hint="set secret_env: <VARIABLE> holding a shared secret (auth: hmac signs each request).")


def _refused_host(url: str, config: AgentConfig) -> tuple[str, int, str] | None:
    """(host, port, why) when the action layer would refuse every request to `url`: its own
    rule (hostentries.py `refusal`, which `check_destination` applies at each request), with the
    name resolved here as each request resolves it."""
    return refused_now(url, config.allowed_hosts if config.allowed_hosts is not None else ("*",))


def _model_host(fc: FileContext, node: YMap | None, config: AgentConfig) -> None:
    """Warn when the model endpoint's host is not in allowed_hosts (every model call would be
    refused before it is sent), and when its api_key_file does not exist."""
    model = config.model
    if model is None:
        return
    refused = _refused_host(model.base_url, config)
    span = start_span(((node.get("base_url") if node is not None else None) or node).span) if node is not None else None
    if refused is not None:
        host, port, why = refused
        fc.add(codes.CONFIG_BAD_VALUE,
               f"model: the endpoint's host {host!r} (port {port}) is not in allowed_hosts, so every model call is "
               "refused before it is sent (generative answers take their no-answer path, prompts their error path): "
               f"{why}",
               span, severity=Severity.WARNING, hint=f"Add '{host}' (or '{host}:{port}') to allowed_hosts.")
    if model.api_key_file and not Path(model.api_key_file).is_file():
        key_node = node.get("api_key_file") if node is not None else None
        fc.add(codes.CONFIG_BAD_VALUE,
               f"model: api_key_file {model.api_key_file!r} does not exist; every model call fails (no key) until it does.",
               start_span(key_node.span) if key_node is not None else span, severity=Severity.WARNING)


def _remote_recognizer_host(fc: FileContext, node: YMap, config: AgentConfig) -> None:
    """Warn when the llm / http recogniser's host is not in allowed_hosts: every turn would
    fall back to the embedded recogniser (the action layer refuses the request)."""
    rec = config.recognizer
    url = rec.url if rec.kind == "http" else config.model.base_url if rec.kind == "llm" and config.model else None
    if not url:
        return
    refused = _refused_host(url, config)
    if refused is not None:
        host, port, why = refused
        fc.add(codes.CONFIG_BAD_VALUE,
               f"recognizer: the {rec.kind} recogniser's host {host!r} (port {port}) is not in allowed_hosts, so "
               f"every turn will fall back to the embedded recogniser: {why}",
               start_span(((node.get("url") if rec.kind == "http" else None) or node).span),
               severity=Severity.WARNING, hint=f"Add '{host}' (or '{host}:{port}') to allowed_hosts.")


def read_agent_yaml(
    fc: FileContext,
    root_node: YNode | None,
    root: Path,
    *,
    default_name: str,
    env_overrides: Mapping[str, str],
) -> tuple[AgentConfig, str | None]:
    """AgentConfig from agent.yaml, and its `bot_name` if given."""
    if root_node is None:
        return _with_env(AgentConfig(name=default_name), env_overrides, fc), None
    if not isinstance(root_node, YMap):
        fc.add(
            codes.CONFIG_BAD_VALUE,
            f"agent.yaml must be a mapping, not {kind_name(root_node)}.",
            start_span(root_node.span),
        )
        return _with_env(AgentConfig(name=default_name), env_overrides, fc), None
    r = _Reader(fc, root_node, "agent.yaml", TOP_KEYS)
    env_node = r.mapping("env")
    env = _string_map(r, env_node, "env value") if env_node is not None else {}
    flows_node = r.mapping("flows")
    flows = _flows(fc, flows_node) if flows_node is not None else {}
    connectors_node = r.mapping("connectors")
    connectors = (
        _flows(fc, connectors_node, "connectors", CONNECTOR_FLOW_PREFIX)
        if connectors_node is not None
        else {}
    )
    # Connector bindings also run as flows (kind "flow" requests) under `connector:<key>`.
    flows.update({b.flow_id: b for b in connectors.values()})
    hosts_node = r.get("allowed_hosts")
    hosts: tuple[str, ...] | None = None
    if isinstance(hosts_node, YSeq):
        hosts = tuple(h.value for h in hosts_node.items if isinstance(h, YScalar) and not h.is_null)
        for item in hosts_node.items:
            if not isinstance(item, YScalar) or item.is_null:
                continue
            problem = entry_problem(item.value)
            if problem is not None:
                fc.add(codes.CONFIG_BAD_VALUE,
                       f"allowed_hosts: {item.value!r} can never match a URL: {problem}.",
                       start_span(item.span), severity=Severity.WARNING,
                       hint="Write a host, address or network, optionally with a port: "
                            "'crm.example.com', '127.0.0.1:8765', '[::1]:8765', '10.0.0.0/8'.")
    elif hosts_node is not None:
        r.bad(hosts_node, "'allowed_hosts' must be a list of host names.")
    voice = VoiceSettings()
    vnode = r.mapping("voice")
    if vnode is not None:
        vr = _Reader(
            fc,
            vnode,
            "voice",
            (
                "voice",
                "language",
                "silence_timeout_ms",
                "speech_end_timeout_ms",
                "interdigit_timeout_ms",
                "dtmf_termination_key",
            ),
        )
        key = vr.text("dtmf_termination_key", "#") or ""
        if key not in ("#", "*", ""):
            vr.bad(
                vnode.get("dtmf_termination_key") or vnode,
                f"dtmf_termination_key '{key}' must be #, * or empty.",
            )
            key = "#"
        voice = VoiceSettings(
            voice=vr.text("voice"),
            language=vr.text("language"),
            silence_timeout_ms=vr.integer("silence_timeout_ms", voice.silence_timeout_ms),
            speech_end_timeout_ms=vr.integer("speech_end_timeout_ms", voice.speech_end_timeout_ms),
            interdigit_timeout_ms=vr.integer("interdigit_timeout_ms", voice.interdigit_timeout_ms),
            dtmf_termination_key=key,
        )
    limits = Limits()
    lnode = r.mapping("limits")
    if lnode is not None:
        lr = _Reader(fc, lnode, "limits", ("idle_timeout_seconds", "max_duration_seconds"))
        limits = Limits(
            idle_timeout_seconds=lr.number(
                "idle_timeout_seconds", limits.idle_timeout_seconds, minimum=0.001
            ),
            max_duration_seconds=lr.number(
                "max_duration_seconds", limits.max_duration_seconds, minimum=0.001
            ),
        )
    rnode = r.mapping("retry")
    retry = _retry(fc, rnode, "retry", RetryPolicy()) if rnode is not None else RetryPolicy()
    topic_settings: dict[str, TopicSettings] = {}
    tsnode = r.mapping("topic_settings")
    for tkey, value in tsnode.entries if tsnode is not None else ():
        if not isinstance(value, YMap):
            r.bad(value, f"topic_settings['{tkey.value}'] must be a mapping.")
            continue
        tr = _Reader(fc, value, f"topic_settings['{tkey.value}']", ("retry",))
        trn = tr.mapping("retry")
        topic_settings[tkey.value] = TopicSettings(
            retry=_retry(fc, trn, f"topic_settings['{tkey.value}'].retry", retry)
            if trn is not None
            else None
        )
    cnode = r.mapping("channels")
    recnode = r.mapping("recognizer")
    retnode = r.mapping("retention")
    config = AgentConfig(
        name=r.text("name", default_name) or default_name,
        language=r.text("language", "en-US") or "en-US",
        env=MappingProxyType(env),
        flows=MappingProxyType(flows),
        connectors=MappingProxyType(connectors),
        allowed_hosts=hosts,
        voice=voice,
        limits=limits,
        retry=retry,
        topic_settings=MappingProxyType(topic_settings),
        channels=_channels(fc, cnode, root) if cnode is not None else Channels(),
        recognizer=_recognizer(fc, recnode) if recnode is not None else RecognizerSettings(),
        retention=_retention(fc, retnode) if retnode is not None else Retention(),
        model=_model(fc, r.mapping("model"), root),
        prompts=MappingProxyType(_prompts(fc, r.mapping("prompts"))),
        knowledge=_knowledge(fc, r.mapping("knowledge")),
    )
    if recnode is not None:
        _remote_recognizer_host(fc, recnode, config)
    model_node = r.get("model")
    _model_host(fc, model_node if isinstance(model_node, YMap) else None, config)
    if recnode is not None and config.recognizer.kind == "llm" and config.model is None:
        r.bad(
            recnode.get("kind") or recnode,
            "recognizer kind 'llm' needs a model: section (base_url, model) or POSTCALL_MODEL_BASE_URL and POSTCALL_MODEL.",
        )
    return _with_env(config, env_overrides, fc), r.text("bot_name")


def _model(fc: FileContext, node: YMap | None, root: Path) -> ModelSettings | None:
    """agent.yaml `model:`, then POSTCALL_MODEL_BASE_URL / POSTCALL_MODEL from the environment
    (which also configure a model when agent.yaml has none)."""
    base_url = os.environ.get("POSTCALL_MODEL_BASE_URL") or None
    name = os.environ.get("POSTCALL_MODEL") or None
    if node is None:
        return ModelSettings(base_url=base_url, model=name) if base_url and name else None
    r = _Reader(fc, node, "model", (
        "base_url", "model", "api_key_env", "api_key_file", "timeout_seconds", "budget_seconds",
        "max_attempts", "max_tokens", "temperature",
    ))  # fmt: skip
    url = base_url or r.text("base_url")
    model = name or r.text("model")
    if not url or not url.startswith(("http://", "https://")):
        r.bad(node.get("base_url") or node, "'base_url' must be the endpoint's http(s) URL up to /v1, e.g. https://api.openai.com/v1.")
        return None
    if not model:
        r.bad(node, "'model' must name the model, e.g. gpt-4o-mini.")
        return None
    defaults = ModelSettings(base_url=url, model=model)
    return ModelSettings(
        base_url=url,
        model=model,
        api_key_env=r.text("api_key_env", defaults.api_key_env) or defaults.api_key_env,
        api_key_file=r.path("api_key_file", root),
        timeout_seconds=r.number("timeout_seconds", defaults.timeout_seconds, minimum=0.001),
        budget_seconds=r.number("budget_seconds", defaults.budget_seconds, minimum=0.001),
        max_attempts=r.integer("max_attempts", defaults.max_attempts, minimum=1),
        max_tokens=r.integer("max_tokens", defaults.max_tokens, minimum=1),
        temperature=r.number("temperature", defaults.temperature),
    )


def _prompts(fc: FileContext, node: YMap | None) -> dict[str, PromptDefinition]:
    out: dict[str, PromptDefinition] = {}
    for key, value in node.entries if node is not None else ():
        where = f"prompts['{key.value}']"
        if isinstance(value, YScalar) and not value.is_null:
            out[key.value] = PromptDefinition(key=key.value, text=value.value)
            continue
        if not isinstance(value, YMap):
            fc.add(codes.CONFIG_BAD_VALUE, f"{where} must be the prompt's text or a mapping with text.", start_span(value.span))
            continue
        pr = _Reader(fc, value, where, ("text", "output", "skip_without_caller_speech"))
        text = pr.text("text")
        if not text:
            pr.bad(value, "'text' (the prompt, with {Input} holes) is required.")
            continue
        schema: dict[str, object] | None = None
        out_node = pr.get("output")
        if isinstance(out_node, YMap):
            plain = to_json(out_node)
            schema = plain if isinstance(plain, dict) else None
        elif out_node is not None and not (isinstance(out_node, YScalar) and out_node.value == "text"):
            pr.bad(out_node, "'output' must be text or a JSON schema (a mapping).")
        skip = pr.get("skip_without_caller_speech")
        out[key.value] = PromptDefinition(
            key=key.value, text=text, output_schema=schema,
            skip_without_caller_speech=not (isinstance(skip, YScalar) and skip.value.lower() == "false"),
        )
    return out


def _knowledge(fc: FileContext, node: YMap | None) -> KnowledgeSettings:
    if node is None:
        return KnowledgeSettings()
    r = _Reader(fc, node, "knowledge", ("response_confidence", "max_passages", "answer_words"))
    defaults = KnowledgeSettings()
    confidence = r.number("response_confidence", defaults.response_confidence)
    if confidence > 1:
        r.bad(node.get("response_confidence") or node, "'response_confidence' must be from 0 to 1.")
        confidence = defaults.response_confidence
    return KnowledgeSettings(
        response_confidence=confidence,
        max_passages=r.integer("max_passages", defaults.max_passages, minimum=1),
        answer_words=r.integer("answer_words", defaults.answer_words, minimum=5),
    )


def _retention(fc: FileContext, node: YMap) -> Retention:
    """`retention:` days per kind of data (absent: kept forever) and the purge interval."""
    rr = _Reader(fc, node, "retention", Retention.KEYS)

    def days(key: str) -> float | None:
        return rr.number(key, 0.0, minimum=0.0) if node.get(key) is not None else None

    return Retention(
        transcripts_days=days("transcripts_days"),
        variables_days=days("variables_days"),
        request_bodies_days=days("request_bodies_days"),
        conversations_days=days("conversations_days"),
        purge_interval_minutes=rr.number("purge_interval_minutes", Retention().purge_interval_minutes, minimum=0.0),
    )


def read_workspace_agent(
    fc: FileContext, root_node: YNode | None, *, default_name: str, env_overrides: Mapping[str, str]
) -> AgentConfig:
    """AgentConfig from a VS Code workspace's agent.mcs.yml: display name and language; the
    rest takes its defaults."""
    name, language = default_name, "en-US"
    if isinstance(root_node, YMap):
        display = root_node.get("displayName")
        if isinstance(display, YScalar) and display.value.strip():
            name = display.value.strip()
        for field_name in ("language", "locale"):
            lang = root_node.get(field_name)
            if isinstance(lang, YScalar) and lang.value.strip():
                language = lang.value.strip()
    return _with_env(AgentConfig(name=name, language=language), env_overrides, fc)


def _with_env(config: AgentConfig, overrides: Mapping[str, str], fc: FileContext) -> AgentConfig:
    if not overrides:
        return config
    env = dict(config.env)
    for key, value in overrides.items():
        if key in env and env[key] != value:
            fc.add(
                codes.CONFIG_ENV_OVERRIDE,
                f"Env.{key} is overridden on the command line.",
                SourceSpan(fc.path, 1, 1),
            )
        env[key] = value
    return replace(config, env=MappingProxyType(env))
