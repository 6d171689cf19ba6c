"""SIGTERM: a worker lets its runs finish their current step, hands them back, and exits; nothing is repeated."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm.launcher import REPO, CrmProcess
from postcall.devtools.scripted import INSTALL, PROGRAM_NAME
from postcall.store import RunSpec, open_store

RUNS = 12


def worker(db_url: str, executor_id: str) -> list[str]:
    return [sys.executable, "-c", "from postcall.cli.main import main; main()", "worker", str(REPO / "examples" / "contoso-support"),
            "--db", db_url, "--executor-id", executor_id, "--concurrency", "4", "--poll", "0.02", "--heartbeat", "0.5",
            "--drain-timeout", "20", "--log-level", "INFO", "--install", INSTALL]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"Timed out waiting for {what}.")


def three_steps(crm_url: str, cid: str, case: int) -> dict[str, Any]:
    def patch(node: str, status: str) -> dict[str, Any]:
        return {"node_id": node, "kind": "http", "payload": {
            "method": "PATCH", "url": f"{crm_url}/cases/{case}", "body": json.dumps({"status": status}),
            "content_type": "application/json"}}

    return {"conversation_id": cid, "topic": "t", "settings": {"allowed_hosts": ["127.0.0.1"]},
            "steps": [patch("first", "in_progress"), patch("second", "resolved"), patch("third", "closed")]}


def midway(crm: CrmProcess) -> bool:
    """Some case has had exactly one of its run's three updates."""
    return any(case["update_count"] == 1 for case in crm.all_cases())


@pytest.mark.slow
def test_sigterm_finishes_the_current_step_and_hands_runs_back(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'postcall.db'}"
    store = open_store(db_url)
    log = open(tmp_path / "worker.log", "ab")
    with CrmProcess(tmp_path / "crm.db", cases=RUNS) as crm:
        crm.set_faults(delay_ms=300)
        first = subprocess.Popen(worker(db_url, "drain-1"), stdout=log, stderr=subprocess.STDOUT)
        try:
            run_ids = []
            for i in range(RUNS):
                cid = f"drain-{uuid.uuid4().hex[:6]}"
                store.create_conversation(cid, agent="a", channel="t")
                store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("t", PROGRAM_NAME, three_steps(crm.url, cid, 1001 + i))])
                run_ids.append(f"postcall:{cid}:t")
            # Signal while a run is mid-way (one of its three steps done, two to go at 300 ms each):
            # waiting only for "two deliveries" let a loaded machine finish the first batch and
            # signal between batches, with nothing running to hand back.
            wait_for(lambda: midway(crm), 60, "a run with one step done")
            first.send_signal(signal.SIGTERM)
            assert first.wait(60) == 0
        finally:
            if first.poll() is None:
                first.kill()
        unfinished = [r.id for r in store.list_runs(limit=None) if r.status not in ("succeeded", "failed")]
        assert unfinished, "every run finished before SIGTERM; the test proves nothing"
        assert {r.status for r in store.list_runs(limit=None) if r.id in unfinished} == {"pending"}
        handed_back = (tmp_path / "worker.log").read_text()
        assert "runs_handed_back" in handed_back

        crm.clear_faults()
        second = subprocess.Popen(worker(db_url, "drain-2"), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: all(r.status == "succeeded" for r in store.list_runs(limit=None)), 90, "every run to succeed")
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
        finally:
            if second.poll() is None:
                second.kill()
            log.close()
        assert [c["update_count"] for c in crm.all_cases()] == [3] * RUNS
        summary = crm.requests()
        assert summary["duplicates"] == 0  # a drained step is finished and recorded, never repeated
        assert len(summary["keys"]) == 3 * RUNS
        finished_by_second = [r for r in store.list_runs(limit=None) if r.id in unfinished]
        assert {r.executor_id for r in finished_by_second} == {"drain-2"}
    assert {w.executor_id: w.state for w in store.workers()} == {"drain-1": "stopped", "drain-2": "stopped"}
    store.close()
