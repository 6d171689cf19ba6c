"""What the server uses of the runtime the lifecycle layer provides: `ServerRuntime`, `ServerSettings`.

In a module of its own, below the app and its routers, so that routers and metrics can name the
runtime's type without importing the app that imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from fastapi import APIRouter

from postcall.diagnostics import Diagnostic
from postcall.lifecycle.watchdog import WatchdogFailure
from postcall.store import Store
from postcall.topics import Agent


class ServerSettings(Protocol):
    """The settings the server reads (the lifecycle's settings object may hold more)."""

    @property
    def public_base_url(self) -> str | None:
        """The URL clients use (e.g. behind a TLS proxy); https here turns on HSTS and Secure cookies."""
        ...

    @property
    def data_dir(self) -> Path:
        """Where the admin token's hash and the session key are kept (`.postcall/` beside the agent)."""
        ...


class ServerRuntime(Protocol):
    """Exactly what `create_app` uses of the runtime the lifecycle layer provides."""

    @property
    def agent(self) -> Agent | None:
        """The loaded agent (None when it failed to load: the console then shows the diagnostics)."""
        ...

    @property
    def diagnostics(self) -> Sequence[Diagnostic]:
        """Every diagnostic of the agent's load."""
        ...

    @property
    def store(self) -> Store:
        """The store: conversations, runs, redrive, heartbeats (readiness reads executors' beats)."""
        ...

    @property
    def settings(self) -> ServerSettings: ...

    @property
    def channel_router(self) -> APIRouter | None:
        """The channels' routes (`/channels/*`), mounted without the admin token."""
        ...

    def live_conversations(self) -> int:
        """Conversations in progress (for the dashboard, the live pill and the metric)."""
        ...

    def watchdog_failures(self) -> Sequence[WatchdogFailure]:
        """Live conversations this process's watchdog fails to act on (console and metrics)."""
        ...

    def watchdog_failure_count(self) -> int:
        """Watchdog failures since this process started (the `postcall_watchdog_failures` metric)."""
        ...
