"""`postcall purge` applies agent.yaml's retention; `postcall erase` removes one caller's calls; bad settings are named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from postcall.cli.main import cli
from postcall.store import NewActivity, open_store
from postcall.topics import load_agent

TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - hello
  actions:
    - kind: SendActivity
      id: sendMessage_1
      activity: Hi.
"""


def _agent(tmp_path: Path, retention: str) -> Path:
    folder = tmp_path / "agent"
    (folder / "topics").mkdir(parents=True)
    (folder / "agent.yaml").write_text(f"name: A\nretention:\n{retention}", encoding="utf-8")
    (folder / "topics" / "Hello.topic.yaml").write_text(TOPIC, encoding="utf-8")
    return folder


def _ended_call(agent: Path, cid: str, caller: str, days_ago: float) -> None:
    with open_store(f"sqlite:///{agent / '.postcall' / 'postcall.db'}") as store:
        store.create_conversation(cid, agent="a", channel="twilio", caller=caller)
        conv = store.get_conversation(cid)
        assert conv is not None
        store.save_turn(cid, state={"x": 1}, activities=[NewActivity("in", "message", {"text": "hi"})],
                        expected_version=conv.version)
        ended = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP", "ended_at": ended.isoformat()}, [])


def test_purge_follows_agent_yaml_and_erase_takes_a_caller(tmp_path: Path) -> None:
    agent = _agent(tmp_path, "  transcripts_days: 30\n  purge_interval_minutes: 5\n")
    loaded = load_agent(agent)
    assert loaded.agent is not None and loaded.agent.config.retention.transcripts_days == 30
    (agent / ".postcall").mkdir()
    _ended_call(agent, "CA-old", "+15550001", 40)
    _ended_call(agent, "CA-new", "+15550002", 1)
    purged = CliRunner().invoke(cli, ["purge", str(agent)])
    assert purged.exit_code == 0, purged.output
    assert "transcripts: purged from 1 conversation(s)" in purged.output
    with open_store(f"sqlite:///{agent / '.postcall' / 'postcall.db'}") as store:
        assert store.history("CA-old") == [] and store.history("CA-new") != []
    erased = CliRunner().invoke(cli, ["erase", str(agent), "--caller", "+15550002"])
    assert erased.exit_code == 0 and "erased CA-new" in erased.output
    nothing = CliRunner().invoke(cli, ["erase", str(agent), "--conversation", "CA-none"])
    assert nothing.exit_code == 0 and "No matching conversation" in nothing.output
    usage = CliRunner().invoke(cli, ["erase", str(agent)])
    assert usage.exit_code == 2 and "--caller" in usage.output


def test_a_bad_retention_value_is_named_with_its_place(tmp_path: Path) -> None:
    agent = _agent(tmp_path, "  transcripts_days: soon\n  keep_forever: true\n")
    result = load_agent(agent)
    messages = [d.message for d in result.diagnostics]
    assert any("transcripts_days" in m and "number" in m for m in messages), messages
    assert any("keep_forever" in m for m in messages), messages
