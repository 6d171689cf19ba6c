"""Node semantics not covered by test_nodes.py (tests/engine/agents/nodes): the IfCondition
alias, ClearAllVariables, EditTable (V1), ReplaceDialog, RepeatDialog, CancelDialog, transfer
details (ExpressionTransferContext, sipxHeaders, dtmfSequence) and RawRequestContent."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.testing import Conversation
from postcall.topics import load_agent
from postcall.topics.model import ConditionGroup

from .helpers import AGENTS, conversation

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "compat" / "copilot-studio-topics"


def started() -> Conversation:
    c = conversation("nodes", conversation_id="n1")
    assert c.start() == ["Ready."]
    return c


def test_the_nodes_agent_loads_with_only_the_if_condition_warnings() -> None:
    result = load_agent(AGENTS / "nodes")
    assert [d.code for d in result.diagnostics] == ["TPC220"]


# -- IfCondition (alias of a one-condition ConditionGroup) ---------------------------------------


def test_if_condition_runs_its_actions_when_the_condition_holds() -> None:
    assert started().event("if", "help") == ["You asked for help.", "All done!"]


def test_if_condition_runs_else_actions_otherwise() -> None:
    assert started().event("if", "other") == ["Processing your request...", "All done!"]


def test_if_condition_loads_as_a_condition_group() -> None:
    c = started()
    node = c.agent.topics["If condition"].find_node("ifCond_01")
    assert isinstance(node, ConditionGroup) and node.kind == "ConditionGroup"
    assert [i.id for i in node.conditions] == ["ifCond_01.condition"]
    assert [n.id for n in node.else_actions] == ["sendMessage_other01"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not present")
def test_microsofts_rich_actions_fixture_runs() -> None:
    (path,) = [
        p
        for p in CORPUS.rglob("RichActions.mcs.yml")
        if p.parent.parent.name == "all-the-things-clean-workspace"
    ]
    result = load_agent(path)
    assert not result.has_errors and result.agent is not None
    assert "TPC220" in {d.code for d in result.diagnostics}
    c = Conversation(result.agent, conversation_id="rich")
    c.start()
    replies = c.say("show me rich actions")
    # Global.UserChoice is the utterance, not "help": the else branch runs; then BeginDialog
    # to a topic this single file does not have fails (TopicNotFound).
    assert replies[0] == "Processing your request..."
    assert c.state.system["Error.Code"] == "TopicNotFound"
