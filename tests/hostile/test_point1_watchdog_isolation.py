"""Point 1 of issue 16, the watchdog half: one conversation that cannot be ended never stalls the others.

Fault injection: the engine raises on every turn of one conversation (its end always fails).
Fifty other idle calls are still ended by the same pass; the failing one is logged, counted in
`postcall_watchdog_failures`, shown in the console, and retried only after its backoff; once the
fault is gone it ends like the others.  All assertions are on state, the clock is fixed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hostile.world import World, world
from postcall.engine.engine import Engine
from postcall.engine.state import ConversationState
from postcall.lifecycle.watchdog import BACKOFF_FIRST_S

BROKEN = "bridge-broken"


class FaultyEngine(Engine):
    """The real engine, except that every turn of one conversation raises while `broken`."""

    broken = True

    def turn(self, state: ConversationState, *args: Any, **kwargs: Any) -> Any:
        if self.broken and state.conversation_id == BROKEN:
            raise RuntimeError("injected fault: this conversation's turn always raises")
        return super().turn(state, *args, **kwargs)


def _start(w: World, cid: str) -> None:
    answer = w.event({"conversation_id": cid, "sequence": 1, "type": "call.started", "timestamp": w.stamp(),
                      "caller": "+15550100111"})
    assert answer.status_code == 200, answer.text


def test_point1_watchdog_fault_injection_fifty_others_still_end(tmp_path: Path, sqlite_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    engines: list[FaultyEngine] = []

    def factory(agent: Any) -> Engine:
        engines.append(FaultyEngine(agent))
        return engines[-1]

    with world(tmp_path, sqlite_url, monkeypatch, engine_factory=factory) as w:
        FaultyEngine.broken = False
        _start(w, BROKEN)  # first, so that a pass that stops at it would end nothing
        FaultyEngine.broken = True
        others = [f"bridge-idle-{n:02d}" for n in range(50)]
        for cid in others:
            _start(w, cid)
        idle = w.runtime.agent.config.limits.idle_timeout_seconds
        w.clock.advance(idle + 1)

        ended = asyncio.run(w.sessions.end_idle())

        assert sorted(ended) == others
        store = w.runtime.store
        for cid in others:
            conv = store.get_conversation(cid)
            assert conv is not None and conv.status == "ended" and conv.end_reason == "INACTIVITY_TIMEOUT", cid
        broken = store.get_conversation(BROKEN)
        assert broken is not None and broken.status == "live"
        [failure] = w.runtime.watchdog_failures()
        assert failure.conversation_id == BROKEN and failure.attempts == 1
        assert "injected fault" in failure.error
        assert w.runtime.watchdog_failure_count() == 1

        # Shown: the metric, the dashboard and the conversation's page.
        metrics = w.client.get("/metrics").text
        assert "postcall_watchdog_failures_total 1.0" in metrics
        assert "postcall_watchdog_failing_conversations 1.0" in metrics
        _sign_in(w)
        assert BROKEN in w.client.get("/console").text
        page = w.client.get(f"/console/conversations/{BROKEN}").text
        assert "watchdog could not act on this conversation" in page and "injected fault" in page

        # Backoff: not tried again before its time, then tried again (and fails again).
        assert asyncio.run(w.sessions.end_idle()) == []
        assert w.runtime.watchdog_failures()[0].attempts == 1
        w.clock.advance(BACKOFF_FIRST_S)
        assert asyncio.run(w.sessions.end_idle()) == []
        second = w.runtime.watchdog_failures()[0]
        assert second.attempts == 2
        assert (second.retry_at - second.last_at).total_seconds() == 2 * BACKOFF_FIRST_S

        # A call started afterwards still ends on time, the broken one still waits its turn.
        _start(w, "bridge-late")
        w.clock.advance(idle + 1)
        FaultyEngine.broken = False  # the fault is fixed: the next try ends it as well
        assert sorted(asyncio.run(w.sessions.end_idle())) == [BROKEN, "bridge-late"]
        assert w.runtime.watchdog_failures() == []
        assert "postcall_watchdog_failing_conversations 0.0" in w.client.get("/metrics").text
        for cid in [*others, BROKEN, "bridge-late"]:
            assert len(store.list_runs(conversation_id=cid, limit=None)) == 1, cid  # one end, its run once


def _sign_in(w: World) -> None:
    from hostile.world import ADMIN_TOKEN

    page = w.client.get("/console/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = w.client.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf, "next": "/console"})
    assert done.status_code == 303, done.text
