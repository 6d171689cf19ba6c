"""The recogniser a running agent uses, with the action layer the `llm` and `http` kinds need.

`postcall.understanding` builds recognisers but sends nothing itself; the two remote kinds get
here an `Execute` that carries their request through the one action layer (allowed hosts and
the private-address refusal, the model endpoint through the `openai` SDK, redacted records)
on a private event loop, synchronously: the engine's turn runs in a worker thread and waits
at most the recogniser's `timeout_seconds` in all (one attempt, no retry: a caller is
listening; the recogniser passes it as the action layer's total deadline, so an answer that
trickles in is cut off too), after which the embedded recogniser decides.

Neither kind keeps answers.  A turn worked out again (`Sessions._step` re-plans a step when
another turn of the conversation was saved meanwhile) is given the decisions of its first
working-out (`TurnResult.decisions` -> `Engine.turn(recorded=...)`), so the endpoint is asked
once per question and its first answer is the one the turn keeps.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from postcall.actions.execute import load_model_support
from postcall.actions.inprocess import InProcessActions
from postcall.actions.settings import ActionSettings
from postcall.engine.recognizer import Recognizer
from postcall.lifecycle.programs import action_settings_for
from postcall.topics.agent import Agent
from postcall.understanding import recognizer_for

REMOTE_KINDS = ("llm", "http")


def recognizer_action_settings(agent: Agent) -> ActionSettings:
    """The agent's action settings cut to the recogniser's timeout, one attempt."""
    base = action_settings_for(agent)
    timeout = agent.config.recognizer.timeout_seconds
    model = base.model
    if model is not None:
        model = replace(model, timeout_s=min(model.timeout_s, timeout), budget_s=timeout, max_attempts=1)
    return base.with_changes(
        retry=replace(base.retry, max_attempts=1), request_timeout_s=timeout,
        run_budget_s=max(timeout, 1.0), model=model,
    )


def recognizer_actions(agent: Agent, *, transport: httpx.AsyncBaseTransport | None = None) -> InProcessActions:
    """A long-lived runner for the recogniser's requests (it keeps no call list)."""
    settings = recognizer_action_settings(agent)
    return InProcessActions(lambda _topic: settings, transport=transport, keep_calls=False)


def runtime_recognizer(agent: Agent, actions: InProcessActions | None = None) -> Recognizer:
    """agent.yaml's recogniser, prepared; llm and http send through `actions` (default: a new runner)."""
    if agent.config.recognizer.kind not in REMOTE_KINDS:
        return recognizer_for(agent)
    if agent.config.recognizer.kind == "llm":
        load_model_support()  # now, not inside the first caller's timeout_seconds
    runner = actions or recognizer_actions(agent)
    return recognizer_for(agent, execute=runner.execute)
