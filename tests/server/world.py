"""Real parts for the admin-side tests: a runtime assembled from the real store, calls written
through the store's API as the lifecycle writes them, the example CRM served on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from postcall.diagnostics import Diagnostic
from postcall.server.api import stats
from postcall.store import NewActivity, RunSpec, Store

REPO = Path(__file__).resolve().parents[2]
CONTOSO = REPO / "examples" / "contoso-support"
CRM_APP = REPO / "examples" / "crm" / "crm_app.py"


@dataclass
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None


@dataclass
class AssembledRuntime:
    """What `postcall serve` hands to create_app, built here from the same real parts."""

    agent: Any
    diagnostics: Sequence[Diagnostic]
    store: Store
    settings: Settings
    executor: Any = None
    channel_router: Any = None

    def live_conversations(self) -> int:
        return stats.count_live(self.store)

    def watchdog_failures(self) -> list[Any]:
        return []  # no watchdog runs in these tests

    def watchdog_failure_count(self) -> int:
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g}s waiting for {what}.")
        time.sleep(0.02)


# ----------------------------------------------------------------------------------------------
# Calls, written as the lifecycle writes them


def say(text: str) -> NewActivity:
    return NewActivity("out", "Say", {"type": "Say", "text": text, "speak": None, "allow_barge_in": True})


def caller(text: str, at: dt.datetime | None = None, confidence: float | None = 0.92) -> NewActivity:
    return NewActivity(
        "in", "message",
        {"type": "message", "id": f"a-{text[:8]}", "timestamp": (at or dt.datetime.now(dt.UTC)).isoformat(),
         "text": text, "confidence": confidence, "channel_id": "twilio"},
        at=at,
    )


def transfer(number: str) -> NewActivity:
    return NewActivity("out", "Transfer", {"type": "Transfer", "node_id": "xfer",
                                           "target": {"type": "TransferToPhoneNumber", "phone_number": number}})


def end_record(reason: str, initiator: str, started: dt.datetime, ended: dt.datetime,
               raw: str | None = "completed") -> dict[str, Any]:
    return {
        "reason": reason,
        "initiator": initiator,
        "ended_at": ended.isoformat(),  # the store takes the end time from here
        "detail": {
            "initiator": initiator, "raw": raw, "source": "channel",
            "started_at": started.isoformat(), "ended_at": ended.isoformat(),
            "duration_seconds": (ended - started).total_seconds(), "transfer": None,
            "activity_id": None, "node_id": None, "topic": None,
        },
    }


STATE_TEMPLATE: dict[str, Any] = {
    "globals": {"CaseNumber": "1001", "ApiToken": "sk-live-should-never-show"},
    "system": {"Conversation.EndReason": None, "LastMessage.Text": "hello"},
    "stack": [{"topic": "Case status", "pc": 3, "variables": {"Status": "open", "When": {"$d": "2026-01-02"}}}],
}


def record_call(
    store: Store,
    conversation_id: str,
    *,
    caller_number: str = "+15550001111",
    started: dt.datetime | None = None,
    lines: Sequence[NewActivity] = (),
    end_reason: str | None = "CUSTOMER_HANGUP",
    initiator: str = "caller",
    duration_s: float = 42.0,
    runs: Sequence[RunSpec] = (),
    state: dict[str, Any] | None = None,
) -> None:
    """One call: created, one turn saved, ended with `end_reason` (None leaves it live)."""
    started = started or dt.datetime.now(dt.UTC) - dt.timedelta(seconds=duration_s)
    store.create_conversation(conversation_id, agent="contoso-support", channel="twilio",
                              caller=caller_number, started_at=started)
    conv = store.get_conversation(conversation_id)
    assert conv is not None
    step = dt.timedelta(seconds=duration_s / (len(lines) + 1))
    timed = [NewActivity(a.direction, a.type, a.activity, at=started + step * (i + 1))
             for i, a in enumerate(lines)]
    store.save_turn(conversation_id, state=dict(state or STATE_TEMPLATE),
                    activities=timed, expected_version=conv.version)
    if end_reason is not None:
        ended = started + dt.timedelta(seconds=duration_s)
        store.record_end(conversation_id, end_record(end_reason, initiator, started, ended), runs)


def crm_patch_run(conversation_id: str, crm_url: str, case: str = "1001",
                  reason: str = "CUSTOMER_HANGUP", topic: str = "Post-call CRM update") -> RunSpec:
    """A post-call run that PATCHes a CRM case then logs an event (the scripted program)."""
    host = crm_url.split("//", 1)[1].split(":", 1)[0]
    return RunSpec(
        topic=topic,
        program="scripted",
        input={
            "conversation_id": conversation_id,
            "topic": topic,
            "steps": [
                {"node_id": "patchCase", "kind": "http", "payload": {
                    "method": "PATCH", "url": f"{crm_url}/cases/{case}",
                    "headers": {"Content-Type": "application/json", "Authorization": "Bearer crm-secret-token"},
                    "body": f'{{"status": "resolved", "end_reason": "{reason}"}}',
                    "content_type": "application/json", "timeout_ms": 5000}},
                {"node_id": "logDone", "kind": "log",
                 "payload": {"event_name": "case_updated", "properties": {"case": case}}},
            ],
            "settings": {"allowed_hosts": [host], "retry": {"max_attempts": 2, "initial_interval_s": 0.01,
                                                            "max_interval_s": 0.02, "max_retry_after_s": 0.05}},
        },
    )


# ----------------------------------------------------------------------------------------------
# The example CRM on 127.0.0.1


def load_crm_module() -> Any:
    spec = importlib.util.spec_from_file_location("postcall_example_crm", CRM_APP)
    assert spec is not None and spec.loader is not None
    if spec.name in sys.modules:
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@dataclass
class ServedApp:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[ServedApp]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:`port` in a thread, as users run it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15, what=f"uvicorn on port {port}")
    try:
        yield ServedApp(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_example_crm(db_path: Path, port: int) -> Iterator[ServedApp]:
    crm = load_crm_module()
    with serve_in_thread(crm.create_app(str(db_path)), port) as served:
        yield served


def crm_case(crm_url: str, case: str) -> dict[str, Any]:
    response = httpx.get(f"{crm_url}/cases/{case}", timeout=5)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data
