"""`postcall serve` as a process: SIGTERM stops it gracefully, with the children it started."""

from __future__ import annotations

import signal
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
