"""`postcall serve` as users start it, in a subprocess on a free port, and clients for what it serves.

`ServeProcess` copies the example agent (and the example CRM beside it) into a temporary folder,
adds the agent.yaml settings a test asks for, and runs `postcall serve` with its own SQLite file
and the secrets in the environment.  Readiness is polled (`/healthz`, then `/readyz`, which waits
for an executor's heartbeat) with a deadline; teardown sends SIGTERM (serve stops its executor and
CRM children) and SIGKILLs whatever of the process group is left.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
AGENT_NAME = "contoso-support"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(what: str, check: Callable[[], T | None], *, timeout_s: float = 30.0, every_s: float = 0.05) -> T:
    """Call `check` until it returns something other than None; fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
        except (httpx.TransportError, AssertionError) as exc:
            value, last_error = None, exc
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"Timed out after {timeout_s} s waiting for {what}" + (f" (last: {last_error})" if last_error else ""))
        time.sleep(every_s)


def postcall_command() -> list[str]:
    """The `postcall` console script of this environment (what users type)."""
    script = Path(sys.executable).with_name("postcall")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "postcall.cli.main"]


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


class ServeProcess:
    """`postcall serve` on 127.0.0.1 with a copy of the example agent; a context manager.

    `agent_settings` is merged into the copy's agent.yaml (e.g. how TransferToAgent reaches the
    contact centre).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        agent_settings: Mapping[str, Any] | None = None,
        with_example_crm: bool = True,
        crm_url: str | None = None,
        extra_args: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.with_example_crm = with_example_crm
        self.crm_port = free_port() if with_example_crm else None
        self.crm_url = f"http://127.0.0.1:{self.crm_port}" if with_example_crm else crm_url
        if self.crm_url is None:
            raise ValueError("Give crm_url, or let serve start the example CRM.")
        self.twilio_token = secrets.token_hex(16)
        self.events_secret = secrets.token_urlsafe(24)
        self.admin_token = secrets.token_urlsafe(32)
        self.db_path = workdir / "postcall.sqlite"
        self.agent_dir = workdir / "examples" / AGENT_NAME
        self.log_path = workdir / "serve.log"
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.api = httpx.Client(base_url=self.url, timeout=30, trust_env=False,
                                headers={"Authorization": f"Bearer {self.admin_token}"})
        self.crm = httpx.Client(base_url=self.crm_url, timeout=30, trust_env=False)
        self._prepare(agent_settings or {})

    def _prepare(self, agent_settings: Mapping[str, Any]) -> None:
        ignore = shutil.ignore_patterns(".postcall", "__pycache__", "*.db", "*.sqlite")
        shutil.copytree(EXAMPLES / AGENT_NAME, self.agent_dir, ignore=ignore)
        shutil.copytree(EXAMPLES / "crm", self.workdir / "examples" / "crm", ignore=ignore)
        if agent_settings:
            path = self.agent_dir / "agent.yaml"
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
            path.write_text(yaml.safe_dump(_merged(config, agent_settings), sort_keys=False), encoding="utf-8")

    @property
    def argv(self) -> list[str]:
        argv = [*postcall_command(), "serve", str(self.agent_dir), "--port", str(self.port),
                "--db", f"sqlite:///{self.db_path}", "--env", f"crm_BaseUrl={self.crm_url}"]
        if self.with_example_crm:
            argv += ["--with-example-crm", "--crm-port", str(self.crm_port)]
        return argv + self.extra_args

    def start(self, timeout_s: float = 60.0) -> ServeProcess:
        env = {**os.environ, "TWILIO_AUTH_TOKEN": self.twilio_token,
               "POSTCALL_EVENTS_SECRET": self.events_secret, "POSTCALL_ADMIN_TOKEN": self.admin_token,
               "PYTHONUNBUFFERED": "1", **self.extra_env}
        env.pop("POSTCALL_DATABASE_URL", None)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.workdir, start_new_session=True)
        log.close()
        probe = httpx.Client(base_url=self.url, timeout=5, trust_env=False)
        try:
            def ready(path: str) -> bool | None:
                self._check_alive()
                return True if probe.get(path).status_code == 200 else None

            poll("/healthz", lambda: ready("/healthz"), timeout_s=timeout_s)
            poll("/readyz (an executor's heartbeat)", lambda: ready("/readyz"), timeout_s=timeout_s)
            if self.with_example_crm:
                poll("the example CRM", lambda: True if self.crm.get("/cases/1001").status_code == 200 else None,
                     timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        finally:
            probe.close()
        return self

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"postcall serve exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc = self.process
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(40)
                except subprocess.TimeoutExpired:
                    pass
            try:  # anything of the group still alive (a child serve failed to stop)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.wait(10)
        self.api.close()
        self.crm.close()

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the admin API ---------------------------------------------------------------------------

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        response = self.api.get(f"/api/conversations/{conversation_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def conversation_count(self) -> int:
        return self.all_conversations_count()

    def all_conversations_count(self) -> int:
        total, offset = 0, 0
        while True:
            page = self.api.get("/api/conversations", params={"limit": 200, "offset": offset}).json()
            total += len(page["items"])
            if page["next_offset"] is None:
                return total
            offset = page["next_offset"]

    def runs(self, conversation_id: str) -> list[dict[str, Any]]:
        response = self.api.get("/api/runs", params={"conversation_id": conversation_id, "limit": 200})
        response.raise_for_status()
        return list(response.json()["items"])

    def wait_finished(self, conversation_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """The conversation once it has ended and every post-call run has finished."""

        def finished() -> dict[str, Any] | None:
            detail = self.conversation(conversation_id)
            if detail is None or detail["status"] != "ended":
                return None
            if any(run["status"] not in ("succeeded", "failed") for run in detail["runs"]):
                return None
            return detail

        return poll(f"conversation {conversation_id!r} to end and its runs to finish", finished,
                    timeout_s=timeout_s, every_s=0.1)

    # -- the CRM ---------------------------------------------------------------------------------

    def crm_case(self, number: int) -> dict[str, Any]:
        return dict(self.crm.get(f"/cases/{number}").json())

    def crm_deliveries(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.crm.get("/requests").json()["keys"].items()}

    def crm_outcomes(self) -> list[dict[str, Any]]:
        return list(self.crm.get("/call-outcomes").json())
