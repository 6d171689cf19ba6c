"""Crash test (b): two workers on PostgreSQL, one SIGKILLed for good; the survivor takes its runs over by heartbeat.

Workers are real `postcall worker` processes.  The local pid check is switched off so that the
takeover goes through the heartbeat staleness path that workers on other hosts rely on.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.launcher import REPO, CrmProcess
from postcall.devtools.crashdrill import drill_spec
from postcall.devtools.scripted import INSTALL
from postcall.store import open_store

RUNS = 200
STALE_AFTER_S = 3.0
AGENT = REPO / "examples" / "contoso-support"


def worker_command(db_url: str, executor_id: str) -> list[str]:
    return [sys.executable, "-c", "from postcall.cli.main import main; main()", "worker", str(AGENT), "--db", db_url, "--executor-id", executor_id,
            "--concurrency", "8", "--poll", "0.02", "--heartbeat", "0.5", "--stale-after", str(STALE_AFTER_S),
            "--no-local-pid-check", "--log-level", "WARNING", "--install", INSTALL]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"Timed out waiting for {what}.")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_dead_worker_is_taken_over_and_every_run_completes_once(postgres_url: str, tmp_path: Path) -> None:
    w1, w2 = f"w1-{uuid.uuid4().hex[:6]}", f"w2-{uuid.uuid4().hex[:6]}"
    store = open_store(postgres_url)
    engine = store.engine

    def scalar(sql: str, **params: object) -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar() or 0)

    log = open(tmp_path / "workers.log", "ab")
    with CrmProcess(tmp_path / "crm.db", cases=RUNS) as crm:
        crm.set_faults(delay_ms=100)  # every CRM answer takes a while: runs stay in flight
        procs = {w: subprocess.Popen(worker_command(postgres_url, w), stdout=log, stderr=subprocess.STDOUT) for w in (w1, w2)}
        try:
            wait_for(lambda: scalar("SELECT COUNT(*) FROM worker_heartbeats WHERE state = 'running'") == 2, 60, "two workers")
            run_ids = []
            for index in range(RUNS):
                conversation_id, spec = drill_spec(index, crm.url, 1001)
                store.create_conversation(conversation_id, agent="drill", channel="drill")
                assert store.record_end(conversation_id, {"reason": "CUSTOMER_HANGUP"}, [spec])
                run_ids.append(f"postcall:{conversation_id}:{spec.topic}")
            pending_on_w1 = "SELECT COUNT(*) FROM dbos.workflow_status WHERE status = 'PENDING' AND executor_id = :w"
            wait_for(lambda: scalar(pending_on_w1, w=w1) >= 1 and scalar("SELECT COUNT(*) FROM post_call_runs WHERE status = 'succeeded'") >= 5,
                     120, "worker 1 to have runs in flight")
            procs[w1].send_signal(signal.SIGKILL)
            procs[w1].wait()
            killed_at = time.monotonic()
            with engine.connect() as conn:
                stranded = [r[0] for r in conn.execute(
                    sa.text("SELECT workflow_uuid FROM dbos.workflow_status WHERE status = 'PENDING' AND executor_id = :w"), {"w": w1})]
            assert stranded, "worker 1 died with nothing in flight; the test proves nothing"

            wait_for(lambda: scalar("SELECT COUNT(*) FROM worker_heartbeats WHERE executor_id = :w AND state = 'dead'", w=w1) == 1,
                     STALE_AFTER_S + 30, "the takeover of worker 1")
            takeover_s = time.monotonic() - killed_at
            wait_for(lambda: scalar("SELECT COUNT(*) FROM post_call_runs WHERE status IN ('succeeded', 'failed')") == RUNS,
                     180, "every run to finish")

            procs[w2].send_signal(signal.SIGTERM)
            assert procs[w2].wait(60) == 0
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            log.close()

        runs = store.list_runs(limit=None)
        assert {r.status for r in runs} == {"succeeded"}, (tmp_path / "workers.log").read_text()[-3000:]
        assert sorted(r.id for r in runs) == sorted(run_ids)
        heartbeat = {w.executor_id: w for w in store.workers()}
        assert heartbeat[w1].state == "dead" and heartbeat[w1].recovered_by == w2
        assert (heartbeat[w1].recovered_count or 0) >= len(stranded)
        assert heartbeat[w2].state == "stopped"
        with engine.connect() as conn:
            finishers = {r[0] for r in conn.execute(
                sa.text("SELECT DISTINCT executor_id FROM dbos.workflow_status WHERE workflow_uuid = ANY(:ids)"), {"ids": stranded})}
        assert finishers == {w2}
        cases = crm.all_cases()
        assert [c["update_count"] for c in cases] == [1] * RUNS
        summary = crm.requests()
        assert len(summary["keys"]) == RUNS
    store.close()
    print(
        f"\ncrash test (b): worker {w1} SIGKILLed with {len(stranded)} run(s) in flight; taken over by {w2} "
        f"{takeover_s:.1f} s later (stale after {STALE_AFTER_S:g} s); {RUNS} runs succeeded; "
        f"{summary['duplicates']} CRM request(s) delivered more than once, each applied once. "
        + json.dumps({"recovered": heartbeat[w1].recovered_count})
    )
