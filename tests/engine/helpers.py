"""Shared helpers for the engine tests: agents from tests/engine/agents, conversations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from postcall.testing import Conversation, load
from postcall.topics.agent import Agent

HERE = Path(__file__).resolve().parent
AGENTS = HERE / "agents"
DATA = HERE / "data"


@cache
def agent(name: str) -> Agent:
    return load(AGENTS / name)


def conversation(name: str, **kwargs: object) -> Conversation:
    return Conversation(agent(name), **kwargs)  # type: ignore[arg-type]
