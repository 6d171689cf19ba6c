"""Start the example CRM (examples/crm/crm_app.py) as a real process on 127.0.0.1, and talk to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
CRM_APP = REPO / "examples" / "crm" / "crm_app.py"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CrmProcess:
    """The CRM in its own process, with its own SQLite file; a context manager."""

    def __init__(self, db_path: Path, *, cases: int = 10, first_case: int = 1001) -> None:
        self.db_path = db_path
        self.cases = cases
        self.first_case = first_case
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30, trust_env=False)

    def start(self, timeout_s: float = 30.0) -> CrmProcess:
        log = open(self.db_path.with_suffix(".log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(CRM_APP), "--port", str(self.port), "--db", str(self.db_path),
             "--cases", str(self.cases), "--first-case", str(self.first_case)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The CRM exited with {self.process.returncode}; see {log.name}.")
            try:
                if self.client.get(f"/cases/{self.first_case}").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("The CRM did not answer within the deadline.")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()

    def __enter__(self) -> CrmProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> dict[str, Any]:
        return dict(self.client.get("/requests").json())

    def case(self, number: int) -> dict[str, Any]:
        return dict(self.client.get(f"/cases/{number}").json())

    def all_cases(self) -> list[dict[str, Any]]:
        return list(self.client.get("/cases").json())

    def set_faults(self, **faults: Any) -> None:
        self.client.post("/admin/faults", json=faults).raise_for_status()

    def clear_faults(self) -> None:
        self.client.delete("/admin/faults").raise_for_status()
