"""Post-call topics: which ones run after an end, and each one as a resumable program.

`select_post_call_topics(agent, end_snapshot)` lists the topics whose trigger is OnActivity with
type EndOfConversation and whose condition holds for this end (no condition: every end), lower
`priority` first, ties by name.

`PostCallProgram(agent, topic, end_snapshot)` runs one of them for the durable layer, which
knows it only as JSON in and requests out: `start()` and `resume(result)` return the next
`ActionRequest` (None when the topic is done) and `outcome()` says how it went.  The program is
deterministic: `Now()` is the conversation's end time, idempotency keys are
`<conversation id>:<topic>:<node id>` (`#n` for the n-th execution of a node), so replaying the
recorded results gives the same requests.  SendActivity, Question, EmitEvent, transfers and
EndConversation reach nobody after the call: they are skipped with a warning in the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.engine.activity import Activity
from postcall.engine.engine import Engine
from postcall.engine.faults import LogEntry, RuntimeFault
from postcall.engine.interpreter import Runner, Stop
from postcall.engine.nodes import apply_result
from postcall.engine.nodes.question import after
from postcall.engine.selection import explain_selection, select_topics, state_from_snapshot
from postcall.engine.state import EndSnapshot
from postcall.errors import EngineError
from postcall.powerfx import SeededRandom
from postcall.topics.agent import Agent


def explain_post_call_selection(
    agent: Agent, end_snapshot: EndSnapshot, *, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """Every post-call topic with whether it runs for this end and why (log lines)."""
    return explain_selection(agent, end_snapshot, engine or Engine(agent))


def select_post_call_topics(
    agent: Agent, end_snapshot: EndSnapshot, *, engine: Engine | None = None
) -> list[str]:
    """Names of the post-call topics to run for this end, in the order to run them.

    A turn that ends a call already carries them (`TurnResult.post_call_topics`)."""
    return select_topics(agent, end_snapshot, engine or Engine(agent))


class PostCallProgram:
    """One post-call topic run as a sequence of action requests (see module docstring)."""

    def __init__(
        self,
        agent: Agent,
        topic_name: str,
        end_snapshot: EndSnapshot,
        *,
        engine: Engine | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.agent = agent
        self.engine = engine or Engine(agent)
        topic = agent.find_topic(topic_name)
        if topic is None:
            raise EngineError(f"The agent has no topic {topic_name!r} to run after the call.")
        self.topic = topic
        self.state = state_from_snapshot(agent.name, end_snapshot)
        assert self.state.end is not None
        self.now = now or self.state.end.ended_at
        self.log: list[LogEntry] = []
        self.steps: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []  # transcript.Note lines (a failed model call)
        self.status = "pending"  # pending | waiting | succeeded | failed
        self.error: str | None = None
        self.error_code: str | None = None
        self._pending: ActionRequest | None = None
        # One stream for the whole topic: start() and every resume() continue it, so a replay
        # (same start, same recorded results) draws the same Rand()/GUID() values.
        self.random = SeededRandom(f"{self.state.entropy}|{self.state.conversation_id}|postcall|{topic_name}|{self.now.isoformat()}")

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def pending(self) -> ActionRequest | None:
        return self._pending

    def _runner(self) -> Runner:
        return Runner(self.engine, self.state, now=self.now, mode="postcall", random=self.random)

    def _collect(self, runner: Runner, stop: Stop) -> ActionRequest | None:
        self.log.extend(runner.log)
        self.steps.extend(runner.steps)
        self.notes.extend(n.to_json() for n in runner.notes)
        if runner.failure is not None:
            self.status = "failed"
            self.error = str(runner.failure)
            self.error_code = runner.failure.error_code
            self._pending = None
            return None
        if stop is Stop.ACTION and runner.pending is not None:
            self.status = "waiting"
            self._pending = runner.pending
            return runner.pending
        self.status = "succeeded"
        self._pending = None
        return None

    def start(self) -> ActionRequest | None:
        """Run the topic up to its first backend action; None when it needs none."""
        if self.status != "pending":
            raise EngineError(f"Post-call topic {self.topic.name!r} has already started.")
        runner = self._runner()
        runner.push(self.topic, started_by="end of conversation")
        return self._collect(runner, runner.run())

    def resume(self, result: ActionResult) -> ActionRequest | None:
        """Hand back the result of the last request; returns the next request or None."""
        if self.status != "waiting" or self.state.pending is None:
            raise EngineError(
                f"Post-call topic {self.topic.name!r} is not waiting for an action result."
            )
        for step in reversed(self.steps):
            if "request" in step and "result" not in step:
                step["result"] = result.to_json()
                break
        pending = self.state.pending
        self.state.pending = None
        runner = self._runner()
        depth = int(pending.get("depth", len(self.state.stack) - 1))
        frame = self.state.stack[depth]
        node = self.engine.node(frame.topic, pending["node_id"])
        if node is None:
            raise EngineError(f"The pending action {pending['node_id']!r} is not in topic {frame.topic!r}.")
        try:
            stop = after(runner, frame, apply_result(runner, frame, node, result))
        except RuntimeFault as fault:
            runner.on_fault(fault)
            stop = Stop.DONE
        return self._collect(runner, stop)

    def outcome(self) -> dict[str, Any]:
        """{topic, status, error, error_code, log, steps, notes} as JSON."""
        return {
            "topic": self.topic.name,
            "conversation_id": self.state.conversation_id,
            "status": self.status,
            "error": self.error,
            "error_code": self.error_code,
            "log": [str(e) for e in self.log],
            "warnings": [e.message for e in self.log if e.level == "warning"],
            "steps": list(self.steps),
            "notes": list(self.notes),
        }

    @property
    def end_activity(self) -> Activity:
        assert self.state.end is not None
        return self.state.end.activity(self.state.conversation_id, self.state.channel_id)
