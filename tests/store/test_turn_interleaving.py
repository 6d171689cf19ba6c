"""Turns of one conversation never interleave, even from several processes on one database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postcall.store import Store
from store.helpers import new_id

WORKER = Path(__file__).with_name("turn_worker.py")
PROCESSES = 3
TURNS = 25


@pytest.mark.parametrize("mode", ["locked", "optimistic"])
def test_concurrent_processes_never_lose_or_interleave_a_turn(store: Store, store_url: str, mode: str) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="test", state={"count": 0})
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), store_url, cid, str(TURNS), f"w{i}", mode], stderr=subprocess.PIPE)
        for i in range(PROCESSES)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    conversation = store.get_conversation(cid)
    assert conversation is not None
    assert conversation.state == {"count": PROCESSES * TURNS}
    assert conversation.version == PROCESSES * TURNS
    history = store.history(cid)
    # Each turn read the count the previous one wrote: the sequence is 1..N with no gap or repeat.
    assert [a.activity["count"] for a in history] == list(range(1, PROCESSES * TURNS + 1))
    assert [a.seq for a in history] == list(range(1, PROCESSES * TURNS + 1))
    assert {a.activity["worker"] for a in history} == {f"w{i}" for i in range(PROCESSES)}
