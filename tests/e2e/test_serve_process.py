"""`postcall serve` as a process: SIGTERM stops it gracefully, with the children it started."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from e2e.server import ServeProcess, poll

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_sigterm_stops_serve_and_its_children(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path).start()
    try:
        assert server.process is not None
        pid = server.process.pid
        children = poll("the executor and the CRM", lambda: _children(pid) if len(_children(pid)) >= 2 else None)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0, server.log_tail()
        poll("serve's children to exit", lambda: True if not any(_alive(c) for c in children) else None,
             timeout_s=60)
        assert "Traceback" not in server.log_path.read_text(encoding="utf-8", errors="replace")
    finally:
        server.stop()


def _run(argv: list[str], server: ServeProcess) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TWILIO_AUTH_TOKEN": server.twilio_token, "POSTCALL_ADMIN_TOKEN": server.admin_token}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_printed_call_hint_runs_and_steps_after_the_end_are_reported(tmp_path: Path) -> None:
    with ServeProcess(tmp_path) as server:
        log = server.log_path.read_text(encoding="utf-8")
        lines = log.splitlines()
        hint = lines[lines.index(next(line for line in lines if line.startswith("Place a simulated Twilio call"))) + 1]
        ignore = server.agent_dir / ".postcall" / ".gitignore"
        assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"  # secrets and call data never committed
        argv = shlex.split(hint)
        assert os.access(argv[0], os.X_OK), hint  # a real path to postcall, not a bare name
        placed = _run(argv, server)
        assert placed.returncode == 0, placed.stderr
        assert "end: CUSTOMER_HANGUP" in placed.stdout and "not played" not in placed.stdout

        late = _run([*argv[: argv.index("--twilio") + 2], "--say", "goodbye", "--say", "case status", "--hang-up"], server)
        assert late.returncode == 0, late.stderr
        assert "end: AGENT_HANGUP" in late.stdout
        assert "note: the agent hung up before the last 2 step(s); not played: --say 'case status', --hang-up" in late.stdout
