"""The compose topology as processes: the containers' exact commands, PostgreSQL, a round-robin proxy.

Two `postcall serve` and two `postcall worker` run the commands deploy/compose.yaml gives their
containers (the image's paths and the service host names mapped to this machine); a
round-robin balancer stands in for Caddy.  First the call docs/deploy.md tells the operator to
place goes through the proxy.  Then several calls run with each webhook going to the next
server in turn, and one server is SIGKILLed while every call is live: the proxy sends the rest
to the survivor, every call ends exactly once, and every post-call topic runs exactly once
(the CRM counts one update per case and one delivery per Idempotency-Key).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.launcher import CrmProcess
from deploy.topology import REPO, commands, environment
from e2e.balancer import Balancer
from e2e.server import free_port, poll
from postcall.devtools.twilio_simulator import TwilioSimulator

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLS = 6
SECRETS = {"TWILIO_AUTH_TOKEN": "a" * 32, "POSTCALL_EVENTS_SECRET": "e" * 32, "POSTCALL_ADMIN_TOKEN": "admin-" + "t" * 26}


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=CALLS + 1) as process:
        yield process


class Topology:
    """The compose services as local processes (each in its own process group)."""

    def __init__(self, workdir: Path, database_url: str, crm_url: str) -> None:
        self.agent = workdir / "agent"
        shutil.copytree(REPO / "examples" / "contoso-support", self.agent,
                        ignore=shutil.ignore_patterns(".postcall", "__pycache__"))
        self.ports = {"serve-1": free_port(), "serve-2": free_port()}
        self.balancer = Balancer([f"http://127.0.0.1:{p}" for p in self.ports.values()])
        values = {**SECRETS, "POSTGRES_PASSWORD": "unused", "PUBLIC_BASE_URL": self.balancer.url,
                  "POSTCALL_SITE": ":80"}
        self.argv = commands(values, self.agent, REPO / "examples" / "crm")
        for name, argv in self.argv.items():  # the service host names and ports, on this machine
            mapped = [a.replace("http://crm:8765", crm_url) for a in argv]
            if name in self.ports:
                mapped[mapped.index("--port") + 1] = str(self.ports[name])
                mapped[mapped.index("--host") + 1] = "127.0.0.1"
            mapped[0] = str(Path(sys.executable).with_name("postcall"))
            self.argv[name] = mapped
        self.env = {name: {**os.environ, **environment(name, values), "POSTCALL_DATABASE_URL": database_url,
                           "PYTHONUNBUFFERED": "1"} for name in self.argv}
        self.logs = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> Topology:
        self.balancer.__enter__()
        for name in ("serve-1", "serve-2", "worker-1", "worker-2"):  # serve first: it migrates the schema
            log = (self.logs / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(self.argv[name], env=self.env[name], stdout=log, stderr=subprocess.STDOUT,
                                                    cwd=self.logs, start_new_session=True)
            log.close()
            if name.startswith("serve"):
                url = f"http://127.0.0.1:{self.ports[name]}/healthz"
                poll(f"{name} /healthz", lambda u=url: True if self._get(u) == 200 else None, timeout_s=90)
        for name in self.ports:
            url = f"http://127.0.0.1:{self.ports[name]}/readyz"
            poll(f"{name} /readyz (a worker's heartbeat)", lambda u=url: True if self._get(u) == 200 else None, timeout_s=90)
        return self

    def _get(self, url: str) -> int | None:
        for name, proc in self.processes.items():
            assert proc.poll() is None, f"{name} exited: {(self.logs / f'{name}.log').read_text()[-3000:]}"
        try:
            return httpx.get(url, timeout=5, trust_env=False).status_code
        except httpx.TransportError:
            return None

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes.pop(name).wait(30)

    def stop(self) -> None:
        for proc in self.processes.values():
            with_group = proc.pid
            try:
                os.killpg(with_group, signal.SIGTERM)
                proc.wait(45)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(with_group, signal.SIGKILL)
        self.balancer.__exit__(None, None, None)


def test_the_compose_commands_serve_calls_through_the_proxy_and_survive_a_killed_server(
    tmp_path: Path, postgres_url: str, crm: CrmProcess
) -> None:
    topology = Topology(tmp_path, postgres_url, crm.url).start()
    api = httpx.Client(base_url=topology.balancer.url, timeout=30, trust_env=False,
                       headers={"Authorization": f"Bearer {SECRETS['POSTCALL_ADMIN_TOKEN']}"})
    try:
        # The call docs/deploy.md places through the proxy.
        placed = subprocess.run(
            [topology.argv["serve-1"][0], "call", "--twilio", topology.balancer.url,
             "--say", "what is the status of my case", "--press", f"{1001 + CALLS}#", "--hang-up"],
            env=topology.env["serve-1"], capture_output=True, text=True, timeout=120, check=False)
        assert placed.returncode == 0, placed.stderr
        assert "end: CUSTOMER_HANGUP" in placed.stdout and "post-call 'Post-call CRM update': succeeded" in placed.stdout, placed.stdout
        assert all(topology.balancer.served[b] > 0 for b in topology.balancer.backends)  # both servers took webhooks

        # Several live calls, webhooks alternating; one server dies while every call is live.
        mid_call = threading.Barrier(CALLS + 1)
        killed = threading.Event()

        def call(n: int) -> tuple[str, str | None]:
            simulator = TwilioSimulator(topology.balancer.url, SECRETS["TWILIO_AUTH_TOKEN"])
            try:
                simulator.start()
                simulator.say("case status")
                simulator.press(f"{1001 + n}#")
                mid_call.wait(120)
                killed.wait(120)
                simulator.say("case status")  # a turn after the kill, on the survivor
                finished = simulator.finish()  # the caller hangs up: Twilio's status callback
                return finished.call_sid, finished.ended_by
            finally:
                simulator.close()

        with concurrent.futures.ThreadPoolExecutor(CALLS) as pool:
            futures = [pool.submit(call, n) for n in range(CALLS)]
            mid_call.wait(120)
            topology.kill("serve-1")
            killed.set()
            played = [f.result(timeout=300) for f in futures]

        for n, (sid, ended_by) in enumerate(played):
            assert ended_by == "caller"

            def finished(sid: str = sid) -> dict[str, object] | None:
                detail = api.get(f"/api/conversations/{sid}").json()
                runs = detail.get("runs") or []
                return detail if detail.get("status") == "ended" and runs and all(r["status"] == "succeeded" for r in runs) else None

            detail = poll(f"{sid} to end and its runs to succeed", finished, timeout_s=120)
            assert detail["end_reason"] == "CUSTOMER_HANGUP"
            assert len([e for e in detail["transcript"] if e["kind"] == "end"]) == 1  # type: ignore[union-attr]
            assert {r["topic"] for r in detail["runs"]} == {"Post-call CRM update", "Post-call log"}  # type: ignore[union-attr]
            case = crm.client.get(f"/cases/{1001 + n}").json()
            assert case["update_count"] == 1 and case["end_reason"] == "CUSTOMER_HANGUP", case
        seen = crm.client.get("/requests").json()
        assert seen["total"] == len(seen["keys"]) == 2 * (CALLS + 1), seen  # each key delivered once
    finally:
        api.close()
        topology.stop()
