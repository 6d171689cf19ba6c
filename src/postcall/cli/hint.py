"""The simulated call `serve` suggests: taken from the served agent's own topics, with the real path of `postcall`.

A hint written for the example agent would mislead with any other agent ("case status" where
no topic listens for it), and a bare `postcall` fails when the virtual environment is not on
PATH.  So the hint says a trigger phrase of one of the agent's own topics, keys in digits when
that topic asks for them, hangs up, and names the executable that is running now.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from postcall.topics.agent import Agent
from postcall.topics.model import PrebuiltEntity, Question, Topic

SAMPLE_DIGITS = "1001"
_KEYS = {"PoundKey": "#", "StarKey": "*"}


def postcall_executable() -> list[str]:
    """How to run `postcall` as this process does: the console script beside this Python, else `python -m`."""
    script = Path(sys.executable).with_name("postcall")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "postcall.cli.main"]


def _digits_asked(topic: Topic) -> str | None:
    """What to key in for the topic's first question that takes digits, None if it asks for none."""
    for node in topic.walk():
        if isinstance(node, Question):
            entity = node.entity
            if isinstance(entity, PrebuiltEntity) and entity.dtmf_options is not None:
                return SAMPLE_DIGITS + _KEYS.get(entity.dtmf_options.termination_key or "PoundKey", "")
            if isinstance(entity, PrebuiltEntity) and entity.name == "NumberPrebuiltEntity":
                return SAMPLE_DIGITS + "#"
            return None
    return None


def _candidates(agent: Agent) -> list[Topic]:
    """Topics a caller can start by saying something, those asking for digits first."""
    spoken = [t for t in agent.topics.values() if t.trigger.kind == "OnRecognizedIntent" and t.trigger.trigger_queries]
    return sorted(spoken, key=lambda t: _digits_asked(t) is None)


def call_steps(agent: Agent) -> list[str]:
    """The `call` step options of the hint: say a phrase (and key digits) of one topic, then hang up."""
    topics = _candidates(agent)
    if not topics:
        return ["--hang-up"]
    topic = topics[0]
    steps = ["--say", topic.trigger.trigger_queries[0]]
    digits = _digits_asked(topic)
    if digits is not None:
        steps += ["--press", digits]
    return [*steps, "--hang-up"]


def call_hint(agent: Agent, base_url: str, token_file: str | None) -> str:
    """The whole command line, quoted for a POSIX shell."""
    argv = [*postcall_executable(), "call", "--twilio", base_url]
    if token_file:
        argv += ["--auth-token-file", token_file]
    return shlex.join(argv + call_steps(agent))
