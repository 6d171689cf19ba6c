"""Loading agents from disk: the three layouts, single files, agent.yaml, whole-agent checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from postcall.topics import load_agent, load_topic_text
from postcall.topics.config import AgentConfig, RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"


def codes_at(result_diags: list, code: str) -> list[tuple[str, int]]:
    return [(d.span.path, d.span.line) for d in result_diags if d.code == code and d.span]


def test_folder_layout_reads_agent_yaml() -> None:
    result = load_agent(FIXTURES / "agent_folder")
    assert result.diagnostics == []
    agent = result.agent
    assert agent is not None
    assert (agent.name, agent.language, agent.layout, agent.bot_name) == (
        "Contoso Fixture",
        "en-US",
        "folder",
        "contoso_fixture",
    )
    assert list(agent.topics) == ["Escalate", "MainMenu", "PostCallCrm", "PostCallTransfer"]
    assert agent.topics["PostCallCrm"].schema_name == "contoso_fixture.topic.PostCallCrm"
    assert agent.topics["PostCallCrm"].path == "topics/PostCallCrm.topic.yaml"
    assert set(result.sources) == {
        "agent.yaml", "variables/CallWrappedUp.mcs.yml", "topics/Escalate.mcs.yml",
        "topics/MainMenu.mcs.yml", "topics/PostCallCrm.topic.yaml", "topics/PostCallTransfer.yaml",
    }  # fmt: skip
    default = agent.global_variables["CallWrappedUp"]
    assert default is not None and default.literal is False
    config = agent.config
    assert dict(config.env) == {"crm_BaseUrl": "http://127.0.0.1:8765", "crm_ApiVersion": "2"}
    flow = config.flows["3f1e5a2c-0000-4000-8000-000000000001"]
    assert (flow.url, flow.method, dict(flow.headers), flow.python) == (
        "http://127.0.0.1:8765/flows/outcome", "POST", {"X-Source": "postcall"}, None,
    )  # fmt: skip
    assert config.flows["local-scorer"].python == "tests.topics.flows:score"
    assert config.allowed_hosts == ("127.0.0.1", "localhost")
    assert (
        config.voice.voice,
        config.voice.silence_timeout_ms,
        config.voice.speech_end_timeout_ms,
    ) == ("Polly.Joanna", 4000, 1200)
    assert (config.limits.idle_timeout_seconds, config.limits.max_duration_seconds) == (
        120.0,
        1800.0,
    )
    assert config.retry == RetryPolicy(4, 0.25, 3.0, 10.0, 300.0)
    # a topic's partial retry override keeps the agent's other settings
    assert config.retry_for("PostCallCrm") == RetryPolicy(8, 0.25, 3.0, 10.0, 300.0)
    assert config.retry_for("MainMenu") == config.retry
    twilio = config.channels.twilio
    assert twilio is not None
    assert twilio.auth_token_file == str(
        (FIXTURES / "agent_folder" / "secrets" / "twilio_token").resolve()
    )
    assert twilio.public_base_url == "https://voice.example.com"
    assert twilio.transfer_to_agent is not None and twilio.transfer_to_agent.mode == "enqueue"
    assert (
        config.channels.events is not None and config.channels.events.replay_window_seconds == 120
    )


def test_env_overrides_win_over_agent_yaml() -> None:
    result = load_agent(
        FIXTURES / "agent_folder",
        env_overrides={"crm_BaseUrl": "http://127.0.0.1:9999", "extra": "1"},
    )
    assert result.agent is not None
    assert dict(result.agent.env) == {
        "crm_BaseUrl": "http://127.0.0.1:9999",
        "crm_ApiVersion": "2",
        "extra": "1",
    }
    assert [d.code for d in result.diagnostics] == ["TPC253"]


def test_defaults_without_agent_yaml(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    shutil.copy(FIXTURES / "agent_folder" / "topics" / "PostCallTransfer.yaml", tmp_path / "topics")
    result = load_agent(tmp_path)
    assert result.agent is not None
    assert result.agent.config == AgentConfig(name=tmp_path.name)
    retry = result.agent.config.retry
    assert (retry.max_attempts, retry.initial_interval_seconds, retry.max_interval_seconds) == (5, 0.5, 30.0)


def test_solution_export_layout() -> None:
    result = load_agent(FIXTURES / "solution")
    agent = result.agent
    assert agent is not None and agent.layout == "solution" and agent.bot_name == "contoso_sol"
    assert list(agent.topics) == ["EndofConversation", "Goodbye", "Greeting"]
    assert agent.topics["Greeting"].path == "botcomponents/contoso_sol.topic.Greeting/data"
    infos = sorted(d.message for d in result.diagnostics if d.code == "TPC218")
    assert len(infos) == 2 and "translation" in infos[1] and "contoso_sol.gpt.default" in infos[0]
    assert not result.has_errors
    # the solution folder itself or its botcomponents folder
    inner = load_agent(FIXTURES / "solution" / "botcomponents")
    assert inner.agent is not None and list(inner.agent.topics) == list(agent.topics)


def test_workspace_layout() -> None:
    result = load_agent(FIXTURES / "workspace")
    agent = result.agent
    assert agent is not None and agent.layout == "workspace"
    assert (agent.name, agent.language, agent.bot_name) == (
        "Contoso Workspace",
        "de-DE",
        "cws_agent",
    )
    assert list(agent.topics) == ["Start", "Tier"]
    assert agent.topics["Tier"].schema_name == "cws_agent.topic.Tier"
    default = agent.global_variables["CustomerTier"]
    assert default is not None and default.literal == "standard"
    assert [d.code for d in result.diagnostics] == ["TPC218"]


def test_find_topic_accepts_schema_and_short_names() -> None:
    agent = load_agent(FIXTURES / "solution").agent
    assert agent is not None
    goodbye = agent.topics["Goodbye"]
    assert agent.find_topic("contoso_sol.topic.Goodbye") is goodbye
    assert agent.find_topic("Goodbye") is goodbye
    assert agent.find_topic("goodbye") is goodbye
    assert agent.find_topic("other_bot.topic.Goodbye") is goodbye
    assert agent.find_topic("Nope") is None


def test_single_file_is_an_agent_of_one_topic() -> None:
    path = FIXTURES / "solution" / "botcomponents" / "contoso_sol.topic.Greeting" / "data"
    result = load_agent(path)
    agent = result.agent
    assert agent is not None and agent.layout == "file"
    assert list(agent.topics) == ["Greeting"] and agent.bot_name == "contoso_sol"
    # the redirect target cannot be checked from one file: a warning, not an error
    assert [d.code for d in result.diagnostics] == ["TPC211"]
    named = load_agent(FIXTURES / "agent_folder" / "topics" / "PostCallCrm.topic.yaml")
    assert named.agent is not None and list(named.agent.topics) == ["PostCallCrm"]


def test_missing_path() -> None:
    result = load_agent(FIXTURES / "does-not-exist")
    assert result.agent is None and [d.code for d in result.diagnostics] == ["TPC221"]


def test_whole_agent_checks_and_agent_yaml_errors() -> None:
    result = load_agent(FIXTURES / "broken_agent")
    assert result.agent is not None and result.has_errors
    by_code: dict[str, list[int]] = {}
    for d in result.diagnostics:
        by_code.setdefault(d.code, []).append(d.span.line if d.span else 0)
    assert by_code["TPC252"] == [3, 12, 15]  # env crm_ApiKey (warning), auth_token, secret (errors)
    severities = [str(d.severity) for d in result.diagnostics if d.code == "TPC252"]
    assert severities == ["warning", "error", "error"]
    assert by_code["TPC250"] == [16]  # unknown key
    assert len(by_code["TPC251"]) == 9
    assert by_code["TPC210"] == [15]  # BeginDialog to a topic that does not exist
    assert by_code["TPC214"] == [12]  # Global.CustomerNmae, did you mean CustomerName
    assert by_code["TPC219"] == [1]  # two topics named Help
    unknown_global = next(d for d in result.diagnostics if d.code == "TPC214")
    assert unknown_global.hint == "did you mean 'Global.CustomerName'?"
    # config falls back to defaults where values were wrong
    config = result.agent.config
    assert config.voice.silence_timeout_ms == 5000 and config.retry.max_attempts == 5
    assert config.channels.twilio is not None and config.channels.twilio.public_base_url is None


def test_empty_folder_warns(tmp_path: Path) -> None:
    result = load_agent(tmp_path)
    assert result.agent is not None and [d.code for d in result.diagnostics] == ["TPC222"]


def test_non_utf8_topic_file(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "Bad.yaml").write_bytes(b"kind: Adaptive\xffDialog\n")
    result = load_agent(tmp_path)
    assert sorted(d.code for d in result.diagnostics) == ["TPC222", "YML107"]


def test_load_topic_text() -> None:
    result = load_topic_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRedirect\n  id: main\n  actions: []\n",
        "x.yaml",
    )
    assert result.agent is not None and list(result.agent.topics) == ["x"]
    assert [d.code for d in result.diagnostics] == ["TPC232"]
    assert result.sources == {
        "x.yaml": "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRedirect\n  id: main\n  actions: []\n"
    }


@pytest.mark.parametrize(
    "name",
    [
        "Greeting.topic.mcs.yml",
        "Greeting.mcs.yml",
        "Greeting.topic.yaml",
        "Greeting.yaml",
        "bot.topic.Greeting.mcs.yml",
    ],
)
def test_topic_name_from_file_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRedirect\n  id: main\n  actions:\n    - kind: EndDialog\n      id: e\n"
    )
    agent = load_agent(path).agent
    assert agent is not None and list(agent.topics) == ["Greeting"]
