"""Copilot Studio topics: load agents from disk, validate them, and the typed model the engine runs.

from postcall.topics import load_agent
result = load_agent("examples/contoso-support", env_overrides={"crm_BaseUrl": "..."})
if result.has_errors: ...        # result.diagnostics, render with result.sources
agent = result.agent             # Agent: topics, config, global_variables, find_topic()
"""

from __future__ import annotations

from postcall.topics.agent import Agent
from postcall.topics.config import AgentConfig, FlowBinding, RetryPolicy
from postcall.topics.loader import LoadResult, load_agent, load_topic_text
from postcall.topics.model import Expr, TextTemplate, Topic, Trigger, UnsupportedNode, VariableRef

__all__ = [
    "Agent",
    "AgentConfig",
    "Expr",
    "FlowBinding",
    "LoadResult",
    "RetryPolicy",
    "TextTemplate",
    "Topic",
    "Trigger",
    "UnsupportedNode",
    "VariableRef",
    "load_agent",
    "load_topic_text",
]
