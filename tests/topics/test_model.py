"""The typed model built from the fixture agent: every field the engine reads, with its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.topics import load_agent, load_topic_text
from postcall.topics import model as m
from postcall.topics.agent import Agent

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def agent() -> Agent:
    result = load_agent(FIXTURES / "agent_folder")
    assert result.diagnostics == []
    assert result.agent is not None
    return result.agent


def node(topic: m.Topic, node_id: str) -> m.Node:
    found = topic.find_node(node_id)
    assert found is not None, node_id
    return found


def test_post_call_trigger(agent: Agent) -> None:
    topic = agent.topics["PostCallCrm"]
    trigger = topic.trigger
    assert (trigger.kind, trigger.id, trigger.type, trigger.priority, trigger.run_once) == (
        "OnActivity", "main", "EndOfConversation", 1, False,
    )  # fmt: skip
    assert trigger.is_end_of_conversation
    assert trigger.condition is not None and trigger.condition.formula is not None
    assert {"System.Conversation.EndReason", "Conversation.EndReason"} <= trigger.condition.names
    assert [t.name for t in agent.post_call_topics()] == ["PostCallTransfer", "PostCallCrm"]


def test_http_request_action_fields(agent: Agent) -> None:
    http = node(agent.topics["PostCallCrm"], "httpRequest_crmUpdate")
    assert isinstance(http, m.HttpRequestAction)
    assert http.display_name == "Update the CRM" and not http.disabled
    assert http.method_name == "POST"
    assert http.url.is_formula and http.url.formula is not None
    assert [(k, v.text) for k, v in http.headers] == [
        ("Content-Type", "application/json"),
        ("X-Api-Version", "=Env.crm_ApiVersion"),
        ("accept", "*/*"),
    ]
    assert http.body is not None and http.body.kind == "JsonRequestContent"
    assert http.body.content is not None and http.body.content.formula is not None
    assert http.request_timeout_ms is not None and http.request_timeout_ms.literal == 90000
    assert http.error_handling.continue_on_error
    assert str(http.error_handling.status_code) == "Topic.crmStatus"
    assert str(http.error_handling.error_response_body) == "Topic.crmError"
    assert http.response is not None and http.response.path == "Topic.crmResult"
    schema = http.response_schema
    assert schema is not None and schema.kind == "Record"
    assert [name for name, _ in schema.properties] == ["ticketId", "@odata.nextLink", "retries"]
    retries = schema.property("retries")
    assert retries is not None and retries.kind == "Number"


def test_raw_body_and_defaults(agent: Agent) -> None:
    http = node(agent.topics["PostCallTransfer"], "httpRequest_transferLog")
    assert isinstance(http, m.HttpRequestAction)
    assert http.method_name == "PUT"
    assert http.body is not None and http.body.kind == "RawRequestContent"
    assert (
        http.body.content_type is not None
        and http.body.content_type.literal == "application/x-www-form-urlencoded"
    )
    assert http.error_handling.kind == "RaiseErrorBehavior" and http.request_timeout_ms is None


def test_flow_and_telemetry(agent: Agent) -> None:
    topic = agent.topics["PostCallCrm"]
    flow = node(topic, "invokeFlow_outcome")
    assert isinstance(flow, m.InvokeFlowAction)
    assert flow.flow_id == "3f1e5a2c-0000-4000-8000-000000000001"
    assert [(b.name, b.value.text) for b in flow.input] == [
        ("status", "=Topic.crmStatus"),
        ("reason", "=System.Conversation.EndReason"),
    ]
    assert [(b.name, b.variable.path) for b in flow.output] == [("outcome", "Topic.flowOutcome")]
    log = node(topic, "log_postcall")
    assert isinstance(log, m.LogCustomTelemetryEvent)
    assert log.event_name is not None and log.event_name.literal == "PostCall"
    assert log.properties is not None and log.properties.formula is not None


def test_set_variable_with_init(agent: Agent) -> None:
    sv = node(agent.topics["PostCallCrm"], "setVariable_payload")
    assert isinstance(sv, m.SetVariable)
    assert (sv.variable.scope, sv.variable.name, sv.variable.init) == ("Topic", "Payload", True)


def test_message_and_question(agent: Agent) -> None:
    topic = agent.topics["MainMenu"]
    assert topic.start_behavior == "CancelOtherTopics"
    send = node(topic, "sendActivity_welcome")
    assert isinstance(send, m.SendActivity) and isinstance(send.activity, m.Message)
    assert [t.text for t in send.activity.text] == [
        "Welcome to Contoso, {System.User.DisplayName}."
    ]
    assert [t.text for t in send.activity.speak] == ["<speak>Welcome to Contoso.</speak>"]
    assert send.activity.allow_barge_in is False
    assert "System.User.DisplayName" in send.activity.text[0].names
    q = node(topic, "question_menu")
    assert isinstance(q, m.Question)
    assert q.variable.path == "Topic.MenuChoice" and q.variable.init
    assert isinstance(q.prompt, m.Message) and q.prompt.text[0].text.startswith(
        "For billing press 1"
    )
    assert q.always_prompt is not None and q.always_prompt.literal is True
    assert q.repeat_count is not None and q.repeat_count.literal == 3
    assert q.skip_question_mode == "AlwaysAsk"
    assert isinstance(q.unrecognized_prompt, m.Message) and isinstance(q.invalid_prompt, m.Message)
    assert q.default_value is not None and q.default_value.literal == "billing"
    assert q.allow_interruption is False
    assert isinstance(q.entity, m.ClosedListEntity)
    assert [(i.id, i.display_name, i.synonyms, i.dtmf_key) for i in q.entity.items] == [
        ("billing", "Billing", ("invoice", "payment"), "Num1"),
        ("agent", "Agent", (), "Num0"),
    ]
    voice = q.voice_input_settings
    assert voice is not None
    assert voice.silence_timeout_ms is not None and voice.silence_timeout_ms.literal == 3000
    assert voice.repeat_count_on_silence is not None and voice.repeat_count_on_silence.literal == 1
    assert voice.default_value_missing_action == "Escalate"
    account = node(topic, "question_account")
    assert isinstance(account, m.Question) and isinstance(account.entity, m.PrebuiltEntity)
    dtmf = account.entity.dtmf_options
    assert dtmf is not None and dtmf.kind == "FixedLengthTermination"
    assert dtmf.length is not None and dtmf.length.literal == 8
    assert dtmf.termination_key == "PoundKey"
    assert dtmf.accepts_voice is not None and dtmf.accepts_voice.literal is True
    assert account.validation is not None and account.validation.formula is not None


def test_control_flow(agent: Agent) -> None:
    topic = agent.topics["MainMenu"]
    group = node(topic, "conditionGroup_menu")
    assert isinstance(group, m.ConditionGroup)
    assert [c.id for c in group.conditions] == ["conditionItem_agent"]
    begin = group.conditions[0].actions[0]
    assert isinstance(begin, m.BeginDialog)
    assert begin.dialog.literal == "contoso_fixture.topic.Escalate"
    assert agent.find_topic(str(begin.dialog.literal)) is agent.topics["Escalate"]
    assert [(b.name, b.value.text, b.value.literal) for b in begin.input] == [
        ("Reason", "Caller asked for an agent", "Caller asked for an agent"),
        ("Account", "=Topic.AccountNumber", None),
    ]
    assert [(b.name, b.variable.path) for b in begin.output] == [
        ("Handled", "Topic.EscalationHandled")
    ]
    kinds = [n.kind for n in group.else_actions]
    assert kinds == ["SetTextVariable", "Foreach", "EndConversation"]
    loop = group.else_actions[1]
    assert isinstance(loop, m.Foreach)
    assert (
        loop.value.path == "Topic.Digit"
        and loop.index is not None
        and loop.index.path == "Topic.DigitIndex"
    )
    assert [n.kind for n in loop.actions] == ["ContinueLoop"]
    assert [n.id for n in topic.walk()][-4:] == [
        "setText_summary",
        "foreach_digits",
        "continueLoop_1",
        "endConversation_bye",
    ]


def test_transfers_keep_phone_numbers_as_text(agent: Agent) -> None:
    topic = agent.topics["Escalate"]
    assert [p.name for p in topic.inputs] == ["Reason", "Account"]
    assert [(p.name, p.type) for p in topic.outputs] == [("Handled", "Boolean")]
    assert topic.trigger.trigger_queries == ("talk to a person", "agent")
    phone = node(topic, "transfer_phone")
    assert isinstance(phone, m.TransferConversation) and phone.kind == "TransferConversationV2"
    target = phone.transfer_type
    assert isinstance(target, m.TransferToPhoneNumber)
    assert target.phone_number.literal == "+4916090179359"
    assert target.dtmf_sequence is not None and target.dtmf_sequence.literal == "1234#"
    assert target.sip_uui_header is not None and target.sip_uui_header.formula is not None
    agent_transfer = node(topic, "transfer_agent")
    assert isinstance(agent_transfer, m.TransferConversation)
    to_agent = agent_transfer.transfer_type
    assert isinstance(to_agent, m.TransferToAgent)
    assert isinstance(to_agent.message_to_agent, m.Message)
    assert to_agent.context is not None and (to_agent.context.kind, to_agent.context.variables) == (
        "AutomaticTransferContext",
        "Global",
    )


def test_model_is_immutable(agent: Agent) -> None:
    topic = agent.topics["MainMenu"]
    with pytest.raises(AttributeError):
        topic.name = "x"  # type: ignore[misc]
    assert isinstance(topic.trigger.actions, tuple)
    with pytest.raises(TypeError):
        agent.topics["X"] = topic  # type: ignore[index]


def test_legacy_transfer_and_manual_context_aliases() -> None:
    result = load_agent(Path(__file__).parent / "cases" / "legacy_transfer.yaml")
    assert result.agent is not None
    topic = next(iter(result.agent.topics.values()))
    legacy = topic.find_node("transfer_legacy")
    assert isinstance(legacy, m.TransferConversation) and legacy.kind == "TransferConversation"
    assert isinstance(legacy.transfer_type, m.TransferToPhoneNumber)
    assert legacy.transfer_type.phone_number.literal == "+15551234567"
    manual = topic.find_node("transfer_manual")
    assert isinstance(manual, m.TransferConversation) and isinstance(
        manual.transfer_type, m.TransferToAgent
    )
    ctx = manual.transfer_type.context
    assert ctx is not None and ctx.kind == "ExpressionTransferContext" and ctx.value is not None


def test_unsupported_and_invalid_nodes_load_as_unsupported() -> None:
    cases = Path(__file__).parent / "cases"
    result = load_agent(cases / "unsupported_kinds.yaml")
    assert result.agent is not None
    topic = next(iter(result.agent.topics.values()))
    assert not topic.trigger.supported
    nodes = {n.id: n for n in topic.walk()}
    search, send = nodes["search_1"], nodes["send_1"]
    assert isinstance(search, m.UnsupportedNode) and search.known_kind
    assert search.raw == {
        "kind": "SearchAndSummarizeWithCustomModel",
        "id": "search_1",
        "userInput": "=System.Activity.Text",
    }
    assert isinstance(send, m.UnsupportedNode) and not send.known_kind
    assert "unsupported_kinds.yaml:10:7" in send.describe() and "SendMessage" in send.describe()
    broken = load_agent(cases / "missing_required.yaml").agent
    assert broken is not None
    missing = next(iter(broken.topics.values())).find_node("http_noUrl")
    assert isinstance(missing, m.UnsupportedNode) and "could not be loaded" in missing.reason


def test_value_literals_follow_the_schema() -> None:
    result = load_agent(Path(__file__).parent / "cases" / "tolerant.yaml")
    assert result.diagnostics == [] and result.agent is not None
    topic = next(iter(result.agent.topics.values()))
    answer = topic.find_node("set_answer")
    assert isinstance(answer, m.SetVariable) and answer.value.literal == "yes"


def test_kitchen_sink_nodes() -> None:
    result = load_agent(FIXTURES / "kitchen_sink.yaml")
    assert result.agent is not None
    assert [d.code for d in result.diagnostics if d.is_error] == []
    topic = result.agent.topics["kitchen_sink"]
    nodes = {n.id: n for n in topic.walk()}
    many = nodes["setMany"]
    assert isinstance(many, m.SetMultipleVariables)
    assert [(a.variable.path, a.variable.init, a.value.text) for a in many.assignments] == [
        ("Topic.a", False, "1"), ("Global.b", True, "=Topic.a + 1"),
    ]  # fmt: skip
    assert many.assignments[0].value.literal == 1
    parse = nodes["parse_1"]
    assert isinstance(parse, m.ParseValue) and parse.error_policy == "ThrowError"
    assert parse.value_type is not None and parse.value_type.kind == "Table"
    assert parse.value_type.properties[0][0] == "x"
    edit = nodes["edit_1"]
    assert isinstance(edit, m.EditTable) and edit.change_type == "Remove"
    edit2 = nodes["edit_2"]
    assert isinstance(edit2, m.EditTableV2) and edit2.operation == "TakeFirstItemOperation"
    assert edit2.result_variable is not None and edit2.result_variable.path == "Topic.first"
    assert isinstance(nodes["reset_1"], m.ResetVariable)
    clear = nodes["clear_1"]
    assert isinstance(clear, m.ClearAllVariables) and clear.variables == "AllGlobalVariables"
    emit = nodes["emit_1"]
    assert isinstance(emit, m.EmitEvent) and emit.event_type == "DialogEvent"
    assert emit.bubble_event is not None and emit.bubble_event.literal is True
    event = nodes["send_event"]
    assert isinstance(event, m.SendActivity) and isinstance(event.activity, m.EventActivity)
    assert event.activity.name is not None and event.activity.name.literal == "handoff.initiate"
    typing = nodes["send_typing"]
    assert isinstance(typing, m.SendActivity) and isinstance(typing.activity, m.OtherActivity)
    assert typing.activity.activity_type.literal == "Typing"
    assert isinstance(nodes["break_1"], m.BreakLoop)
    assert isinstance(nodes["cancel_1"], m.CancelDialog)
    repeat = nodes["repeat_1"]
    assert isinstance(repeat, m.RepeatDialog) and repeat.disabled
    replace = nodes["replace_1"]
    assert isinstance(replace, m.ReplaceDialog) and replace.dialog.formula is not None
    assert [(b.name, b.value.text) for b in replace.input] == [("", "=Topic.a")]
    end = nodes["end_1"]
    assert isinstance(end, m.EndDialog) and end.clear_topic_queue is False


@pytest.mark.parametrize(
    ("trigger", "check"),
    [
        ("kind: OnInactivity\n  durationInSeconds: 300", lambda t: t.duration_seconds.literal == 300),
        ("kind: OnInactivity\n  durationInSeconds: =Global.Wait", lambda t: t.duration_seconds.formula is not None),
        ("kind: OnSilence\n  silenceDetectionTimeoutInMilliseconds: 4000", lambda t: t.silence_timeout_ms.literal == 4000),
        ("kind: OnDtmfKeyPress\n  dtmfKey: StarKey", lambda t: t.dtmf_key == "StarKey"),
        ("kind: OnEventActivity\n  eventName: postcall.custom", lambda t: t.event_name == "postcall.custom"),
        ("kind: OnActivity\n  type: Message\n  runOnce: true", lambda t: t.type == "Message" and t.run_once),
        ("kind: OnUnknownIntent\n  priority: -1", lambda t: t.priority == -1),
        ("kind: OnUnrecognizedSpeech", lambda t: t.supported),
        ("kind: OnUnknownDtmfKey", lambda t: t.supported),
        ("kind: OnError", lambda t: t.supported and t.condition is None),
    ],
)
def test_trigger_fields(trigger: str, check: object) -> None:
    text = f"kind: AdaptiveDialog\nbeginDialog:\n  {trigger}\n  id: main\n  actions:\n    - kind: EndDialog\n      id: e\n"
    result = load_topic_text(text, "t.yaml")
    assert [d for d in result.diagnostics if d.code != "TPC213"] == []
    assert result.agent is not None
    assert check(result.agent.topics["t"].trigger)  # type: ignore[operator]
