"""A whole server in process for the abuse tests: the example agent, a real store (SQLite file or
PostgreSQL), the lifecycle runtime with a fixed clock, the real channels and the real app."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from postcall.channels.events import EventsChannel, signature_headers
from postcall.channels.twilio import TwilioChannel
from postcall.channels.twilio_twiml import TwilioVoiceSettings
from postcall.clock import FixedClock
from postcall.engine.engine import Engine
from postcall.lifecycle.runtime import Runtime, open_runtime
from postcall.lifecycle.session import Sessions
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.server.webhooks import channel_router

REPO = Path(__file__).resolve().parents[2]
CONTOSO = REPO / "examples" / "contoso-support"
START = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
ADMIN_TOKEN = "hostile-admin-token-0123456789abcdef"
EVENTS_SECRET = "hostile-events-secret"
TWILIO_TOKEN = "hostile-twilio-token"


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    client: TestClient  # holds the admin token
    agent_dir: Path
    twilio: TwilioChannel

    @property
    def sessions(self) -> Sessions:
        return self.runtime.sessions

    def event(self, body: dict[str, Any] | bytes) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        stamp = int(self.clock.now().timestamp())
        return self.client.post("/channels/events", content=raw, headers={
            "Content-Type": "application/json", **signature_headers(EVENTS_SECRET, raw, stamp)})

    def stamp(self) -> str:
        return self.clock.now().isoformat()

    def conversation(self, cid: str) -> Any:
        return self.client.get(f"/api/conversations/{cid}")


def copy_agent(tmp_path: Path) -> Path:
    agent = tmp_path / "contoso-support"
    shutil.copytree(CONTOSO, agent, ignore=shutil.ignore_patterns(".postcall"))
    return agent


@contextmanager
def world(tmp_path: Path, database_url: str, monkeypatch: Any, *, engine_factory: Any = None,
          prepare: Any = None, env: dict[str, str] | None = None) -> Iterator[World]:
    """The server of `postcall serve`, minus uvicorn: requests go through the real ASGI app.

    `prepare(agent_dir)` may change the copied example agent before it is loaded."""
    monkeypatch.setenv(TOKEN_ENV, ADMIN_TOKEN)
    clock = FixedClock(START)
    agent = copy_agent(tmp_path)
    if prepare is not None:
        prepare(agent)
    runtime = open_runtime(agent, database_url=database_url, clock=clock, env_overrides=env)
    if engine_factory is not None:
        engine: Engine = engine_factory(runtime.agent)
        runtime.sessions = Sessions(runtime.agent, runtime.store, engine=engine, clock=clock)
    events = EventsChannel(EVENTS_SECRET, now=lambda: clock.now().timestamp())
    config = runtime.agent.config
    voice = TwilioVoiceSettings(voice=config.voice.voice, language=config.voice.language or runtime.agent.language)
    twilio = TwilioChannel(TWILIO_TOKEN, public_base_url="http://testserver", voice=voice, now=clock.now)
    runtime.channel_router = channel_router(runtime.sessions, twilio=twilio, events=events)
    app = create_app(runtime)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, follow_redirects=False) as client:
            yield World(runtime, clock, client, agent, twilio)
    finally:
        runtime.close()
