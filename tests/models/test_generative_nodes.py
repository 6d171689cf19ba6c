"""Generative answers and prompt actions without a model: Copilot Studio's no-model and no-answer paths."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from postcall.testing import Conversation

KB = Path(__file__).resolve().parent / "agents" / "kb"


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB, target, ignore=shutil.ignore_patterns(".postcall"))
    return target


@pytest.fixture
def conv(agent_dir: Path) -> Iterator[Conversation]:
    with Conversation(agent_dir, conversation_id="kb-1") as c:
        yield c


def test_an_unmatched_question_gets_an_extractive_answer_from_the_documents(conv: Conversation) -> None:
    conv.start()
    replies = conv.say("what are your opening hours on saturdays")
    assert replies == ["On Saturdays we open at 10 am and close at 2 pm."]


def test_below_the_confidence_the_fallback_topic_runs_after_boosting(conv: Conversation) -> None:
    conv.start()
    replies = conv.say("do you sell bicycles")
    assert replies == ["I'm sorry, I didn't get that. Try asking about our hours or returns."]


def test_auto_send_false_fills_the_variable_with_citations_without_speaking(conv: Conversation) -> None:
    conv.start()
    replies = conv.say("quiet returns question")
    assert replies == [
        "Quiet answer: You can return any product within 30 days of purchase with its receipt. "
        "Refunds reach your card within five working days. (1 source)"
    ]


def test_answer_question_with_ai_without_a_model_leaves_the_variable_blank(conv: Conversation) -> None:
    conv.start()
    assert conv.say("tell me a joke") == ["Joke is blank: true"]


def test_a_prompt_action_without_a_model_takes_the_error_path(conv: Conversation) -> None:
    conv.start()
    assert conv.say("my heating is broken") == ["Error ModelNotConfigured"]


def test_a_missing_knowledge_file_is_not_a_fault_and_the_transcript_is_kept(conv: Conversation) -> None:
    conv.start()
    conv.say("what are your opening hours on saturdays")
    system = conv.state.system
    text = system["Conversation.TranscriptText"]
    assert "caller: what are your opening hours on saturdays" in text
    assert "agent: On Saturdays we open at 10 am" in text
    assert system["Conversation.LastAnswerSources"] == "policies.md"


def test_check_says_which_nodes_need_a_model_or_a_prompt(agent_dir: Path) -> None:
    from click.testing import CliRunner

    from postcall.cli.main import cli

    (agent_dir / "topics" / "Unknown prompt.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n  intent:\n"
        "    triggerQueries: [unknown prompt]\n  actions:\n    - kind: InvokeAIBuilderModelAction\n"
        "      id: prompt_x\n      aIModelId: 0bde30fa-b6bd-42f3-a9b6-d58c47ca2065\n"
    )
    out = CliRunner().invoke(cli, ["check", str(agent_dir)]).output
    assert "topics/Classify.topic.yaml:9:7: warning GEN310: InvokeAIBuilderModelAction 'invokeAIBuilderModelAction_cat' needs a model" in out
    assert "warning GEN311: InvokeAIBuilderModelAction 'prompt_x' runs prompt '0bde30fa-b6bd-42f3-a9b6-d58c47ca2065'" in out
    assert "knowledge/files/Handbook.pdf.mcs.yml:1:1: warning KNW300" in out
    assert "GEN313" not in out


def test_check_warns_of_an_output_schema_that_is_not_json_schema(agent_dir: Path) -> None:
    from click.testing import CliRunner

    from postcall.cli.main import cli

    config = agent_dir / "agent.yaml"
    text = config.read_text(encoding="utf-8")
    assert "      type: object\n" in text
    config.write_text(text.replace("      type: object\n", "      type: objekt\n", 1), encoding="utf-8")
    out = CliRunner().invoke(cli, ["check", str(agent_dir)]).output
    line = next(i for i, t in enumerate(config.read_text(encoding="utf-8").splitlines(), 1) if t.strip() == "analysis:")
    assert f"agent.yaml:{line}:1: warning GEN313: Prompt 'analysis' has an output that is not a valid JSON Schema (type: " in out
    assert "'objekt' is not valid under any of the given schemas" in out


def test_two_boosting_topics_without_an_answer_hand_over_once_each(agent_dir: Path) -> None:
    (agent_dir / "topics" / "Another search.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnUnknownIntent\n  id: main\n  actions:\n"
        "    - kind: SearchAndSummarizeContent\n      id: search-again\n      variable: Topic.Answer\n"
    )
    with Conversation(agent_dir, conversation_id="kb-2") as conv:
        conv.start()
        assert conv.say("do you sell bicycles") == ["I'm sorry, I didn't get that. Try asking about our hours or returns."]
        started = [e.message for r in conv.results for e in r.log if "queued after" in e.message]
        assert started == [
            "topic 'Another search' queued after 'Conversational boosting' (no generative answer)",
            "topic 'Fallback' queued after 'Another search' (no generative answer)",
        ]
