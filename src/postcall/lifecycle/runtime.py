"""One running agent: its topics, its store, its sessions and its settings, opened once per process."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postcall.clock import Clock, SystemClock
from postcall.diagnostics import Diagnostic, render_all
from postcall.durable.program import ProgramRegistry
from postcall.engine.engine import Engine
from postcall.errors import ConfigError
from postcall.files import private_dir, secure_data_dir
from postcall.hostentries import parse_entries
from postcall.lifecycle.knowledge import build_index_at_open, open_agent_index
from postcall.lifecycle.programs import register_agent
from postcall.lifecycle.recognition import runtime_recognizer
from postcall.lifecycle.session import Sessions
from postcall.lifecycle.watchdog import WatchdogFailure
from postcall.logging import get_logger
from postcall.store import Store, open_store
from postcall.topics.agent import Agent
from postcall.topics.loader import load_agent

log = get_logger("postcall.lifecycle")


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    data_dir: Path = Path(".postcall")
    database_url: str | None = None
    watchdog_interval_s: float = 1.0


@dataclass
class Runtime:
    """What `postcall serve` runs: satisfies the server's `ServerRuntime` protocol."""

    agent: Agent
    diagnostics: Sequence[Diagnostic]
    store: Store
    sessions: Sessions
    settings: RuntimeSettings
    programs: ProgramRegistry = field(default_factory=ProgramRegistry)
    """The agent's post-call programs, for an executor started in this process."""
    executor: Any = None
    channel_router: Any = None
    secrets_: dict[str, str] = field(default_factory=dict)

    def live_conversations(self) -> int:
        return self.store.count_conversations(status="live")

    def watchdog_failures(self) -> list[WatchdogFailure]:
        return self.sessions.watchdog_failures()

    def watchdog_failure_count(self) -> int:
        return self.sessions.watchdog_failure_count

    def close(self) -> None:
        self.store.close()


def load_checked_agent(path: str | Path, env_overrides: Mapping[str, str] | None = None) -> tuple[Agent, list[Diagnostic]]:
    """Load an agent and refuse it when it has errors (with every diagnostic rendered)."""
    result = load_agent(path, env_overrides=env_overrides or {})
    if result.agent is None:
        raise ConfigError(f"No agent at {str(path)!r}.")
    if result.has_errors:
        raise ConfigError(
            "The agent has errors; fix them (postcall check shows the same):\n"
            + render_all(result.errors, result.sources)
        )
    return result.agent, list(result.diagnostics)


def open_runtime(
    agent_path: str | Path,
    *,
    database_url: str | None = None,
    env_overrides: Mapping[str, str] | None = None,
    settings: RuntimeSettings | None = None,
    clock: Clock | None = None,
) -> Runtime:
    agent, diagnostics = load_checked_agent(agent_path, env_overrides)
    data_dir = Path(agent_path).resolve() / ".postcall" if Path(agent_path).is_dir() else Path(agent_path).resolve().parent / ".postcall"
    base = settings or RuntimeSettings()
    settings = RuntimeSettings(
        host=base.host,
        port=base.port,
        public_base_url=base.public_base_url,
        data_dir=data_dir if base.data_dir == Path(".postcall") else base.data_dir,
        database_url=database_url or base.database_url,
        watchdog_interval_s=base.watchdog_interval_s,
    )
    secure_data_dir(settings.data_dir)  # 0700, its files 0600, fixed with a log line (files.py)
    _, never = parse_entries(agent.config.allowed_hosts or ())
    for entry, why in never:  # `postcall check` warns too; a server start must not hide it
        log.warning("allowed_hosts_entry_never_matches", entry=entry, reason=why)
    store = open_store(settings.database_url, agent_dir=agent.root if agent.root.is_dir() else agent.root.parent, clock=clock)
    # on PostgreSQL the index lives in the store's database, shared by every worker
    knowledge = open_agent_index(agent.root if agent.root.is_dir() else agent.root.parent, settings.data_dir, store)
    build_index_at_open(knowledge)  # now, not in the first caller's turn
    engine = Engine(agent, recognizer=runtime_recognizer(agent), knowledge=knowledge)
    programs = ProgramRegistry()
    register_agent(programs, agent, engine)
    sessions = Sessions(agent, store, engine=engine, clock=clock or SystemClock())
    return Runtime(agent=agent, diagnostics=diagnostics, store=store, sessions=sessions, settings=settings, programs=programs)


def resolve_secret(data_dir: Path, name: str, env_var: str, secret_file: str | None) -> tuple[str, str | None]:
    """A secret from `env_var`, else the secret file named in agent.yaml, else one generated once.

    The generated one lives in `<data dir>/<name>` (mode 0600) so that a laptop needs no set-up.
    Returns the secret and the file it came from (None when it came from the environment).
    """
    value = os.environ.get(env_var, "").strip()
    if value:
        return value, None
    if secret_file is not None:
        try:
            text = Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"Cannot read the secret file {secret_file!r}: {exc.strerror}.") from None
        if not text:
            raise ConfigError(f"The secret file {secret_file!r} is empty.")
        return text, secret_file
    path = data_dir / name
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text, str(path)
    private_dir(data_dir)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, str(path)
