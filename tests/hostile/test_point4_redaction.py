"""Point 4 of issue 16: secrets in a request's body and URL never reach the API, the console or the logs.

A secret in a request *body* (`password`, `token`, `apiKey`, `client_secret` keys, a value from an
`env` entry named like a secret) and in a URL's query string used to show in `/api/runs/{id}` and
the console's run page (`outcome.steps[].request.payload`).  A real post-call topic sends them to
the example CRM through a real executor; every view of the run is then searched for them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from hostile.world import World, world
from postcall.cli.main import cli
from postcall.durable import Executor, ExecutorConfig
from postcall.redaction import redact_json
from postcall.store import run_id_for
from server.world import free_port, running_example_crm

ENV_SECRET = "env-api-key-4411-secret"
SECRETS = ["pw-4411-secret", "tok-4411-secret", "key-4411-secret", "cs-4411-secret", "qs-4411-secret", ENV_SECRET]
TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnActivity
  id: main
  type: EndOfConversation
  actions:
    - kind: HttpRequestAction
      id: httpRequest_Leak01
      method: Post
      url: =Env.crm_BaseUrl & "/call-outcomes?token=qs-4411-secret&case=1001"
      headers:
        Content-Type: application/json
      body:
        kind: JsonRequestContent
        content: |-
          ={
            password: "pw-4411-secret",
            token: "tok-4411-secret",
            apiKey: "key-4411-secret",
            client_secret: "cs-4411-secret",
            note: "key " & Env.crm_ApiKey,
            conversation_id: System.Conversation.Id
          }
"""


def test_point4_secrets_in_bodies_and_urls_are_redacted_everywhere(tmp_path: Path, sqlite_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()

    def leaky(agent_dir: Path) -> None:
        (agent_dir / "topics" / "Post-call leak.topic.yaml").write_text(TOPIC, encoding="utf-8")

    env = {"crm_BaseUrl": f"http://127.0.0.1:{port}", "crm_ApiKey": ENV_SECRET}
    with running_example_crm(tmp_path / "crm.db", port), \
            world(tmp_path, sqlite_url, monkeypatch, prepare=leaky, env=env) as w:
        executor = Executor(ExecutorConfig(database_url=sqlite_url, heartbeat_interval_s=0.5, stale_after_s=5),
                            w.runtime.programs, store=w.runtime.store)
        executor.start()
        try:
            cid = "bridge-leak"
            for seq, kind, extra in ((1, "call.started", {}), (2, "call.ended", {"initiator": "caller"})):
                answer = w.event({"conversation_id": cid, "sequence": seq, "type": kind, "timestamp": w.stamp(), **extra})
                assert answer.status_code == 200, answer.text
            run_id = run_id_for(cid, "Post-call leak")
            with capture_logs() as logs:
                assert executor.wait_for_runs([run_id], timeout_s=60)[run_id] == "succeeded"
        finally:
            executor.stop(drain=False)

        run = w.runtime.store.get_run(run_id)
        assert run is not None and run.outcome is not None
        raw = str(run.outcome)
        assert all(secret in raw for secret in SECRETS)  # they were really sent (and stored for replay)

        api = w.client.get(f"/api/runs/{run_id}")
        assert api.status_code == 200
        step = api.json()["outcome"]["steps"][0]
        assert step["request"]["payload"]["url"].endswith("token=%5Bredacted%5D&case=1001")
        assert '"password": "[redacted]"' in step["request"]["payload"]["body"]
        _sign_in(w)
        page = w.client.get(f"/console/runs/{run_id}").text
        out = CliRunner().invoke(cli, ["runs", "--db", sqlite_url, "--format", "json", "--status", "succeeded"])
        assert out.exit_code == 0, out.output
        for shown, where in ((api.text, "api"), (page, "console"), (out.output, "cli"), (str(logs), "logs"),
                             (str(redact_json(run.outcome)), "redact_json")):
            leaked = [s for s in SECRETS if s in shown]
            assert leaked == [], (where, leaked)


def _sign_in(w: World) -> None:
    from hostile.world import ADMIN_TOKEN

    page = w.client.get("/console/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert w.client.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf}).status_code == 303
