"""Crash test (a): the serving process is SIGKILLed five times while 300 conversations end; nothing is lost or applied twice.

The serving process is a parameter (`serving_command`): today the crash drill
(`python -m postcall.devtools.crashdrill`), which ends conversations through the store API and
executes their runs with an in-process executor, as `postcall serve` will.  Kill moments are
random but chosen by progress (a number of CRM deliveries or of ended conversations polled
for), so each kill lands while work is in flight.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.launcher import CrmProcess
from postcall.store import open_store

CONVERSATIONS = 300
KILLS = 5
FIRST_CASE = 1001


def serving_command(db_url: str, crm_url: str) -> list[str]:
    """The process under test; swap in `postcall serve ...` once it exists."""
    return [sys.executable, "-m", "postcall.devtools.crashdrill", "--db", db_url, "--crm", crm_url,
            "--conversations", str(CONVERSATIONS), "--first-case", str(FIRST_CASE), "--rate", "100"]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            return  # it finished before the moment came: the caller starts it again
        time.sleep(0.01)
    raise AssertionError(f"Timed out waiting for {what}.")


@pytest.mark.slow
def test_sigkill_five_times_while_300_conversations_end(tmp_path: Path) -> None:
    seed = int(os.environ.get("POSTCALL_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    db_url = f"sqlite:///{tmp_path / 'postcall.db'}"
    engine = sa.create_engine(db_url)

    def ended() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT COUNT(*) FROM conversations WHERE status = 'ended'")).scalar() or 0)
        except sa.exc.OperationalError:
            return 0  # not created yet

    with CrmProcess(tmp_path / "crm.db", cases=CONVERSATIONS, first_case=FIRST_CASE) as crm:
        def delivered() -> int:
            return len(crm.requests()["keys"])

        log = open(tmp_path / "serve.log", "ab")
        kills: list[dict[str, int]] = []
        try:
            for _ in range(KILLS):
                proc = subprocess.Popen(serving_command(db_url, crm.url), stdout=log, stderr=subprocess.STDOUT)
                try:
                    if ended() < CONVERSATIONS - 60:  # while conversations are still ending
                        target = ended() + rng.randint(5, 50)
                        wait_for(lambda t=target: ended() >= t, 60, f"{target} ended conversations", proc)
                    else:  # while runs are delivering to the CRM
                        target = min(CONVERSATIONS - 1, delivered() + rng.randint(3, 40))
                        wait_for(lambda t=target: delivered() >= t, 60, f"{target} CRM deliveries", proc)
                finally:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                    proc.wait()
                kills.append({"ended": ended(), "delivered": delivered()})
            final = subprocess.run(serving_command(db_url, crm.url), stdout=log, stderr=subprocess.STDOUT, timeout=240)
        finally:
            log.close()
        assert final.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]

        with open_store(db_url) as store:
            runs = store.list_runs(limit=None)
            assert len(runs) == CONVERSATIONS
            assert {r.status for r in runs} == {"succeeded"}, [(r.id, r.status, r.error) for r in runs if r.status != "succeeded"][:5]
            assert len(store.telemetry(limit=10_000)) == CONVERSATIONS
            executions = sum(r.executions for r in runs)
        cases = crm.all_cases()
        assert [c["update_count"] for c in cases] == [1] * CONVERSATIONS
        assert {c["status"] for c in cases} == {"closed"}
        summary = crm.requests()
        assert len(summary["keys"]) == CONVERSATIONS
    engine.dispose()
    print(
        f"\ncrash test (a), seed {seed}: {KILLS} SIGKILLs at {kills}; {CONVERSATIONS} runs succeeded; "
        f"{executions - CONVERSATIONS} re-executions after crashes; "
        f"{summary['duplicates']} CRM request(s) delivered more than once "
        f"({len(summary['duplicated_keys'])} key(s)), each applied once."
    )
