"""Generative nodes with a model: the engine suspends with a "model" request, the action layer
carries it out against a real OpenAI-protocol server on 127.0.0.1, the engine resumes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from pathlib import Path

import httpx
import pytest

from postcall.actions import ActionRequest, ActionResult
from postcall.actions.execute import execute_action
from postcall.actions.retry import RetryPolicy
from postcall.devtools.openai_server import OpenAIServer, Scripted
from postcall.engine.activity import Activity, ActivityType, Say
from postcall.engine.engine import Engine, TurnResult
from postcall.engine.nodes.generative import fill_holes
from postcall.engine.state import ConversationState
from postcall.knowledge.index import open_index
from postcall.lifecycle.programs import action_settings_for
from postcall.topics.loader import load_agent

KB = Path(__file__).resolve().parent / "agents" / "kb"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Call:
    """A conversation driven turn by turn; model requests go through `execute_action`."""

    def __init__(self, root: Path) -> None:
        result = load_agent(root)
        assert result.agent is not None and not result.has_errors
        self.agent = result.agent
        self.engine = Engine(self.agent, knowledge=open_index(root))
        self.settings = action_settings_for(self.agent).with_changes(retry=RetryPolicy(max_attempts=3, initial_interval_s=0.01, max_interval_s=0.02))
        self.state: ConversationState = self.engine.new_state("kb-model", now=T0)
        self.results: list[TurnResult] = []
        self.n = 0

    def _settle(self, result: TurnResult) -> list[str]:
        said = []
        while True:
            self.results.append(result)
            said += [o.text for o in result.outputs if isinstance(o, Say)]
            self.state = result.state
            if result.pending is None:
                return said

            result = self.engine.resume(self.state, asyncio.run(self._execute(result.pending)), now=T0)

    async def _execute(self, request: ActionRequest) -> ActionResult:
        async with httpx.AsyncClient() as client:
            return await execute_action(request, self.settings, http_client=client)

    def send(self, kind: ActivityType, text: str | None = None) -> list[str]:
        self.n += 1
        activity = Activity(type=kind, id=f"a{self.n}", timestamp=T0, channel_id="test", text=text)
        return self._settle(self.engine.turn(self.state, activity, now=T0))

    def say(self, text: str) -> list[str]:
        return self.send(ActivityType.MESSAGE, text)


@pytest.fixture
def call(tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Call:
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL", "local-model")
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    c = Call(root)
    c.send(ActivityType.CONVERSATION_UPDATE)
    return c


def test_a_grounded_answer_is_spoken_with_its_sources(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "We open at 10 on Saturdays."
    assert call.say("what are your opening hours on saturdays") == ["We open at 10 on Saturdays."]
    system = openai_server.requests[0]["messages"][0]["content"]
    assert "On Saturdays we open at 10 am" in system and "NO_ANSWER" in system
    assert openai_server.requests[0]["messages"][1] == {"role": "user", "content": "what are your opening hours on saturdays"}
    assert call.state.system["Conversation.LastAnswerSources"] == "policies.md"


def test_full_response_keeps_the_citations(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "Thirty days, with the receipt."
    assert call.say("quiet returns question") == ["Quiet answer: Thirty days, with the receipt. (1 source)"]


def test_no_answer_from_the_model_runs_the_fallback(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "NO_ANSWER"
    assert call.say("what are your opening hours on sundays") == [
        "I'm sorry, I didn't get that. Try asking about our hours or returns."
    ]


@pytest.mark.parametrize("reply", [".", "   ", "...", " - "])
def test_an_answer_with_no_words_is_no_answer(call: Call, openai_server: OpenAIServer, reply: str) -> None:
    openai_server.responder = lambda body: reply
    assert call.say("what are your opening hours on saturdays") == [
        "I'm sorry, I didn't get that. Try asking about our hours or returns."
    ]


def test_the_local_servers_default_answer_is_the_first_passages_first_sentence(call: Call, openai_server: OpenAIServer) -> None:
    said = call.say("what are your opening hours on saturdays")
    system = openai_server.requests[-1]["messages"][0]["content"]
    first = " ".join(system.split("\n[1] ", 1)[1].split(") ", 1)[1].split())
    assert said == [first.split(". ")[0].rstrip(".") + "."] and len(said[0]) > 2  # never "."


def test_a_failing_model_is_retried_then_the_no_answer_path_with_a_warning(call: Call, openai_server: OpenAIServer) -> None:
    for _ in range(3):
        openai_server.script.append(Scripted(status=500))
    assert call.say("what are your opening hours on saturdays") == [
        "I'm sorry, I didn't get that. Try asking about our hours or returns."
    ]
    assert len(openai_server.requests) == 3
    notes = [n.text for r in call.results for n in r.notes]
    assert len(notes) == 1 and notes[0].startswith("Model call failed: HTTP 500 after 3 tries in ")
    warnings = [e.message for r in call.results for e in r.log if e.level == "warning"]
    assert warnings == notes  # the note is also the turn log's warning


def test_a_text_prompt_fills_its_holes_from_the_bindings(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "HVAC"
    assert call.say("my heating is broken") == ["Category: HVAC"]
    prompt = openai_server.requests[0]["messages"][0]["content"]
    # the hole is `{Problem Description}` (a space), the binding's key `Problem_20Description`
    assert prompt == "Pick the category of this problem among HVAC, Electrical, Plumbing: my heating is broken"


@pytest.mark.parametrize("hole", ["{Problem Description}", "{Problem_20Description}", "{ Problem Description }"])
@pytest.mark.parametrize("key", ["Problem_20Description", "Problem Description"])
def test_a_hole_and_its_binding_match_in_either_encoding(hole: str, key: str) -> None:
    assert fill_holes(f"Problem: {hole}. {{Unknown Hole}}", {key: "no heat", "n": 2}) == "Problem: no heat. {Unknown Hole}"


def test_a_structured_prompt_binds_fields_and_rejects_an_answer_off_its_schema(call: Call, openai_server: OpenAIServer) -> None:
    call.say("what are your opening hours on saturdays")
    openai_server.responder = lambda body: json.dumps({"summary": "Asked about hours.", "case_number": "", "resolved": True})
    assert call.say("analyse this call") == ["Summary: Asked about hours. Resolved: true"]
    fmt = openai_server.requests[-1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert fmt["json_schema"]["strict"] is True  # every field required, no extra properties: strict mode takes it
    assert "caller: what are your opening hours on saturdays" in openai_server.requests[-1]["messages"][0]["content"]
    openai_server.responder = lambda body: json.dumps({"summary": "x", "case_number": "1", "resolved": "yes"})
    before = len(openai_server.requests)
    assert call.say("analyse this call") == ["Error PromptOutputInvalid"]
    assert len(openai_server.requests) == before + 3  # a failed attempt inside the model step: retried
    errors = [e for r in call.results for e in r.log if e.level == "error"]
    assert errors[-1].code == "RUN470" and "resolved: 'yes' is not of type 'boolean'" in errors[-1].message
    assert "answered JSON that does not fit its output schema" in errors[-1].message


def test_a_structured_answer_that_is_not_json_is_retried_and_then_the_error_path(call: Call, openai_server: OpenAIServer) -> None:
    good = json.dumps({"summary": "Asked about hours.", "case_number": "", "resolved": True})
    openai_server.script.append(Scripted(content="Here you go!"))
    openai_server.responder = lambda body: good
    assert call.say("analyse this call") == ["Summary: Asked about hours. Resolved: true"]  # the retry fitted
    assert len(openai_server.requests) == 2
    openai_server.responder = lambda body: "Here you go!"
    assert call.say("analyse this call") == ["Error PromptOutputInvalid"]
    errors = [e for r in call.results for e in r.log if e.level == "error"]
    assert "answered text that is not JSON" in errors[-1].message


def test_a_filtered_structured_prompt_is_reported_as_filtered(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.script.append(Scripted(content="", finish_reason="content_filter"))
    assert call.say("analyse this call") == ["Error ContentFiltered"]
    assert len(openai_server.requests) == 1  # a filter's verdict is not retried
    errors = [e for r in call.results for e in r.log if e.level == "error"]
    assert "content filter" in errors[-1].message and "not JSON" not in errors[-1].message
    notes = [n.text for r in call.results for n in r.notes]
    assert notes[-1].startswith("Model answer withheld by the endpoint's content filter")


def test_the_harness_runs_model_calls_through_the_action_layer(
    tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postcall.testing import Conversation

    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL", "local-model")
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    openai_server.responder = lambda body: "HVAC"
    with Conversation(root, conversation_id="kb-harness") as conv:
        conv.start()
        assert conv.say("my heating is broken") == ["Category: HVAC"]
        (call,) = conv.action_calls
        assert call.request.kind == "model" and call.result.ok
        assert call.request.idempotency_key == "kb-harness:Classify:invokeAIBuilderModelAction_cat"


def _boosting(root: Path, replace_with: str) -> None:
    topic = root / "topics" / "Conversational boosting.topic.yaml"
    text = topic.read_text(encoding="utf-8")
    assert "      moderationLevel: Medium\n" in text
    topic.write_text(text.replace("      moderationLevel: Medium\n", replace_with), encoding="utf-8")


def _call_with(tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, boosting: str) -> Call:
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL", "local-model")
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    root = tmp_path / "kb-variant"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    _boosting(root, boosting)
    c = Call(root)
    c.send(ActivityType.CONVERSATION_UPDATE)
    return c


def test_the_conversation_so_far_goes_with_the_question_by_default(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "We open at 10 on Saturdays."
    call.say("what are your opening hours on saturdays")
    call.say("what are your opening hours on sundays")
    messages = openai_server.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1:] == [
        {"role": "user", "content": "what are your opening hours on saturdays"},
        {"role": "assistant", "content": "We open at 10 on Saturdays."},
        {"role": "user", "content": "what are your opening hours on sundays"},
    ]


@pytest.mark.parametrize(
    ("history", "roles"),
    [
        ("      historyType:\n        kind: NoHistory\n", ["system", "user"]),
        ("      historyType:\n        kind: ConversationHistory\n        numberOfPastUserMessagesToInclude: 1\n",
         ["system", "user", "assistant", "user"]),
    ],
    ids=["NoHistory", "one-past-message"],
)
def test_history_type_decides_how_much_of_the_conversation_is_sent(
    tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, history: str, roles: list[str]
) -> None:
    call = _call_with(tmp_path, openai_server, monkeypatch, history)
    openai_server.responder = lambda body: "We open at 10."
    call.say("what are your opening hours on saturdays")
    call.say("do you take returns without a receipt")
    call.say("what are your opening hours on sundays")
    messages = openai_server.requests[-1]["messages"]
    assert [m["role"] for m in messages] == roles
    assert messages[-1] == {"role": "user", "content": "what are your opening hours on sundays"}
    if len(roles) > 2:
        assert messages[1]["content"] == "do you take returns without a receipt"  # only the last past message


def test_the_moderation_level_is_asked_of_the_model(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.responder = lambda body: "We open at 10."
    call.say("what are your opening hours on saturdays")
    system = openai_server.requests[-1]["messages"][0]["content"]
    assert "rather than say anything harmful or offensive." in system  # Medium, as the topic says


def test_a_moderation_formula_and_an_unknown_level(tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    call = _call_with(tmp_path, openai_server, monkeypatch, '      moderationLevel: =If(true, "Maximum", "Low")\n')
    openai_server.responder = lambda body: "We open at 10."
    call.say("what are your opening hours on saturdays")
    assert "speculative" in openai_server.requests[-1]["messages"][0]["content"]  # Maximum
    other = _call_with(tmp_path / "b", openai_server, monkeypatch, "      moderationLevel: Extreme\n")
    other.say("what are your opening hours on saturdays")
    assert "not supported by what you were given." in openai_server.requests[-1]["messages"][0]["content"]  # High
    warnings = [e.message for r in other.results for e in r.log if e.level == "warning"]
    assert any("moderationLevel 'Extreme' is not one of" in w for w in warnings)


def test_an_answer_withheld_by_the_content_filter_is_no_answer_with_a_note(call: Call, openai_server: OpenAIServer) -> None:
    openai_server.script.append(Scripted(content="", finish_reason="content_filter"))
    assert call.say("what are your opening hours on saturdays") == [
        "I'm sorry, I didn't get that. Try asking about our hours or returns."
    ]
    assert [n.text for r in call.results for n in r.notes] == [
        "Model answer withheld by the endpoint's content filter; no answer given."
    ]


def test_check_warns_of_a_moderation_level_that_is_not_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from postcall.cli.main import cli

    root = tmp_path / "kb-check"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    _boosting(root, "      moderationLevel: Extreme\n")
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert "warning GEN312" in result.output and "moderationLevel 'Extreme', not one of Minimum" in result.output
    _boosting_back = (root / "topics" / "Conversational boosting.topic.yaml")
    _boosting_back.write_text(_boosting_back.read_text().replace("Extreme", "=Topic.Level"), encoding="utf-8")
    assert "GEN312" not in CliRunner().invoke(cli, ["check", str(root)]).output  # a formula is read at run time


def test_a_schema_strict_mode_would_refuse_is_sent_non_strict(
    tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenAI answers 400 to `strict: true` with a schema lacking additionalProperties: false or
    a required field (the local server too); such a schema goes non-strict and is still checked."""
    monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("POSTCALL_MODEL", "local-model")
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    config = root / "agent.yaml"
    loose = config.read_text(encoding="utf-8").replace("      additionalProperties: false\n", "")
    config.write_text(loose.replace("required: [summary, case_number, resolved]", "required: [summary, resolved]"), encoding="utf-8")
    call = Call(root)
    call.send(ActivityType.CONVERSATION_UPDATE)
    openai_server.responder = lambda body: json.dumps({"summary": "Asked about hours.", "resolved": True})
    assert call.say("analyse this call") == ["Summary: Asked about hours. Resolved: true"]
    spec = openai_server.requests[-1]["response_format"]["json_schema"]
    assert spec["strict"] is False and "additionalProperties" not in spec["schema"]
    openai_server.responder = lambda body: json.dumps({"summary": "x", "resolved": "yes"})
    assert call.say("analyse this call") == ["Error PromptOutputInvalid"]  # non-strict, still checked


@pytest.mark.parametrize(("schema", "strict"), [
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}, True),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, False),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"],
      "additionalProperties": False}, False),
    ({"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}},
                                                                         "required": ["x"]}}},
      "required": ["rows"], "additionalProperties": False}, False),  # an inner object without additionalProperties
    ({"type": "string", "enum": ["a", "b"]}, True),
])
def test_strict_is_sent_only_for_what_strict_mode_accepts(schema: dict[str, object], strict: bool) -> None:
    from postcall.actions.model_output import strict_compatible
    from postcall.devtools.openai_server import strict_schema_problem

    assert strict_compatible(schema) is strict
    assert (strict_schema_problem(schema) is None) is strict  # the local server refuses what OpenAI would
