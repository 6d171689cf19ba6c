"""The conversation's life: load state, run the engine's turn, save, carry out in-call actions, end.

Each step is one store transaction holding the conversation's lock (SQLite BEGIN IMMEDIATE,
PostgreSQL SELECT ... FOR UPDATE), so turns of one conversation never interleave, whichever
process receives them.  In-call backend actions run *between* two such transactions: the engine
suspends the turn with a pending action, the state is saved, the action runs without the lock,
and its result resumes the turn in a new transaction.  A hang-up that arrives meanwhile ends the
conversation and the late result is ignored.

The turn that ends the conversation also records the end and enqueues the post-call runs in the
same transaction: a crash can never leave an end without its runs, nor runs without their end.

Provider deliveries are deduplicated by their event id: the reply to each recent event is kept
in the saved state (under `_lifecycle`), and a repeated delivery gets the same reply, changes
nothing, and runs nothing twice.

Out-of-order ends: a channel's end of the call that arrives while a transfer rings is *held*
(kept in `_lifecycle`, recorded in the history) when the transfer's own result may still be on
its way: always for a channel without ordering (Twilio posts the parent call's status callback
and `<Dial>`'s action in either order), and for a numbered channel (call events) when an earlier
event is missing.  The next activity of the conversation releases it after being handled (so a
bridged transfer reported late still ends as a transfer, and an abandoned one as the caller's
hang-up); the watchdog releases it once `held_end_grace_s` has passed with nothing else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import structlog

from postcall import tracing
from postcall.actions import ActionRequest, ActionResult
from postcall.actions.execute import execute_action
from postcall.actions.http import http_client
from postcall.clock import Clock, SystemClock
from postcall.engine.activity import Activity, AgentOutput, output_to_json
from postcall.engine.engine import Engine, TurnResult
from postcall.engine.recognizer import Decision
from postcall.engine.state import ConversationState
from postcall.lifecycle.outputs import output_from_json
from postcall.lifecycle.planning import (
    LIFECYCLE_KEY,
    Action,
    Bookkeeping,
    Delivery,
    HeldEnd,
    SeenReply,
    decide,
    hold,
    next_turn,
    release_time,
    replay_of,
)
from postcall.lifecycle.programs import action_settings_for, topic_runs
from postcall.lifecycle.recognition import runtime_recognizer
from postcall.lifecycle.watchdog import Watchdog, WatchdogFailure, watchdog_event
from postcall.lifecycle.writer import TurnWriter
from postcall.store import (
    Conversation,
    ConversationNotFoundError,
    NewActivity,
    Store,
    StoredEnd,
    Turn,
    TurnBatch,
)
from postcall.topics.agent import Agent
from postcall.vocabulary import ActivityType, StoredKind

log = structlog.get_logger("postcall.lifecycle")


class UnknownConversationError(LookupError):
    """A provider referred to a conversation this runtime never started."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"No conversation {conversation_id!r} is known here.")
        self.conversation_id = conversation_id


class ForeignConversationError(UnknownConversationError):
    """A channel referred to a conversation another channel started: it may not act on it."""

    def __init__(self, conversation_id: str, channel: str, owner: str) -> None:
        LookupError.__init__(
            self,
            f"Conversation {conversation_id!r} was started by the {owner} channel; the {channel} "
            "channel acts only on the conversations it started.",
        )
        self.conversation_id = conversation_id
        self.channel = channel
        self.owner = owner


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What a channel needs to answer the provider."""

    conversation_id: str
    outputs: tuple[AgentOutput, ...]
    turn: int
    ended: bool
    end_reason: str | None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class _Step:
    outcome: TurnOutcome
    result: TurnResult | None
    held_waiting: bool = False  # an end is held and this step did not hold it: release it next


@dataclass(frozen=True, slots=True)
class _Plan:
    """A step worked out: the answer, and what to write (nothing when `state` is None)."""

    step: _Step
    state: dict[str, Any] | None = None
    activities: list[NewActivity] = field(default_factory=list)
    end: TurnResult | None = None  # the turn ended the conversation: record the end and runs
    end_topics: list[str] = field(default_factory=list)
    held: bool = False


Compute = Callable[[ConversationState, dt.datetime, Sequence[Decision]], TurnResult]
"""Works a step's turn out from a state, at a time, given the recogniser's decisions this step
already made (a turn worked out again reuses them: `Decision`)."""


class Sessions:
    """Runs the turns of every conversation of one agent against one store."""

    def __init__(
        self,
        agent: Agent,
        store: Store,
        *,
        engine: Engine | None = None,
        clock: Clock | None = None,
        http_client: httpx.AsyncClient | None = None,
        held_end_grace_s: float = 5.0,
    ) -> None:
        self.agent = agent
        self.held_end_grace_s = held_end_grace_s
        self.store = store
        self.engine = engine or Engine(agent, recognizer=runtime_recognizer(agent))
        self.clock = clock or SystemClock()
        self._http = http_client
        self._settings = action_settings_for(agent)
        self._watchdog = Watchdog(store, self.engine)
        self._writer = TurnWriter(store)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = http_client()
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._writer.close()

    # ------------------------------------------------------------------------------------------
    # public entry points

    def exists(self, conversation_id: str) -> bool:
        return self.store.get_conversation(conversation_id) is not None

    async def start(
        self,
        conversation_id: str,
        *,
        channel: str,
        caller: str | None = None,
        callee: str | None = None,
        event_id: str | None = None,
        sequence: int | None = None,
    ) -> TurnOutcome:
        """A call came in: create the conversation (once) and run its first turn."""
        agent = self.agent.name
        await self._writer.write(
            conversation_id,
            lambda batch: batch.create_conversation(conversation_id, agent=agent, channel=channel, caller=caller),
        )
        activity = Activity(
            type=ActivityType.CONVERSATION_UPDATE,
            id=f"start:{conversation_id}",
            timestamp=self.clock.now(),
            channel_id=channel,
            from_id=caller,
            value={"callee": callee} if callee else None,
        )
        return await self.handle(
            conversation_id, activity, event_id=event_id or f"start:{conversation_id}", sequence=sequence,
            channel=channel,
        )

    async def handle(
        self,
        conversation_id: str,
        activity: Activity,
        *,
        event_id: str | None = None,
        sequence: int | None = None,
        channel: str | None = None,
    ) -> TurnOutcome:
        """Run one activity through the engine, with any in-call actions it asks for.

        `sequence` is the channel's per-conversation event number, when it numbers its events.
        `channel` is the channel the activity came from: a channel acts only on the conversations
        it started (ForeignConversationError otherwise); None (the watchdog, tests) skips the check.
        """
        engine = self.engine
        step = await self._step(
            conversation_id,
            lambda st, now, recorded: engine.turn(st, activity, now=now, ids=_ids, recorded=recorded),
            inbound=activity,
            event_id=event_id,
            sequence=sequence,
            channel=channel,
        )
        outputs = list(step.outcome.outputs)
        while step.result is not None and step.result.pending is not None:
            request = step.result.pending
            result = await self._run_in_call_action(request)

            def resume(
                st: ConversationState, now: dt.datetime, _: Sequence[Decision], r: ActionResult = result
            ) -> TurnResult:
                return engine.resume(st, r, now=now, ids=_ids)  # a resume recognises nothing

            step = await self._step(
                conversation_id,
                resume,
                inbound=None,
                event_id=event_id,
                carried=outputs,
                continuation=True,
            )
            outputs = list(step.outcome.outputs)
        if step.held_waiting:
            released = await self._release_held(conversation_id, carried=outputs)
            if released is not None:
                return released
        return step.outcome

    async def _release_held(
        self, conversation_id: str, *, carried: Sequence[AgentOutput] = (), due_before: dt.datetime | None = None
    ) -> TurnOutcome | None:
        """Run a held end (see the module docstring), and the in-call actions of its turn, if any."""
        step = await self._step(
            conversation_id, None, inbound=None, event_id=None, carried=carried,
            release_due_before=due_before, release=True,
        )
        if step.result is None:
            return None  # nothing was held (any more), or it is not due yet
        engine = self.engine
        outputs = list(step.outcome.outputs)
        while step.result is not None and step.result.pending is not None:
            result = await self._run_in_call_action(step.result.pending)

            def resume(
                st: ConversationState, now: dt.datetime, _: Sequence[Decision], r: ActionResult = result
            ) -> TurnResult:
                return engine.resume(st, r, now=now, ids=_ids)  # a resume recognises nothing

            step = await self._step(
                conversation_id, resume, inbound=None, event_id=None, carried=outputs, continuation=True
            )
            outputs = list(step.outcome.outputs)
        return step.outcome

    async def end_idle(self) -> list[str]:
        """Watchdog: end every live conversation past its idle or duration limit, and release held
        ends whose wait is over; the ids of the conversations that ended.

        Each conversation is acted on by itself: one that raises is noted by the watchdog
        (logged, counted, retried after a backoff; lifecycle/watchdog.py) and the others go on.
        """
        now = self.clock.now()
        ended: list[str] = []
        for cid, held, state in await asyncio.to_thread(self._watchdog.due, now):
            try:
                if await self._end_one(cid, held, state, now):
                    ended.append(cid)
            except Exception as exc:  # one broken conversation never stalls the others
                self._watchdog.failed(cid, exc, now)
            else:
                self._watchdog.succeeded(cid)
        return ended

    def watchdog_failures(self) -> list[WatchdogFailure]:
        """The live conversations the watchdog is failing on (for the console and the metrics)."""
        return self._watchdog.failures()

    @property
    def watchdog_failure_count(self) -> int:
        """Every watchdog failure since this process started."""
        return self._watchdog.failure_count

    async def _end_one(
        self, cid: str, held: HeldEnd | None, state: ConversationState | None, now: dt.datetime
    ) -> bool:
        if held is not None:
            outcome = await self._release_held(cid, due_before=now)
            if outcome is not None and outcome.ended:
                log.info("held_end_released", conversation_id=cid, reason=outcome.end_reason)
                return True
            return False
        assert state is not None
        event = watchdog_event(cid, state, self.engine, now)
        if event is None:
            return False
        outcome = await self.handle(cid, event, event_id=f"watchdog:{event.value['reason']}")
        if outcome.ended:
            log.info("watchdog_ended", conversation_id=cid, reason=outcome.end_reason)
        return outcome.ended

    # ------------------------------------------------------------------------------------------
    # one locked step

    async def _step(
        self,
        conversation_id: str,
        compute: Compute | None,
        *,
        inbound: Activity | None,
        event_id: str | None,
        carried: Sequence[AgentOutput] = (),
        continuation: bool = False,
        sequence: int | None = None,
        release: bool = False,
        release_due_before: dt.datetime | None = None,
        channel: str | None = None,
    ) -> _Step:
        """One step: worked out from the conversation as last saved, then written under its lock.

        The engine's turn is computed (in a worker thread) before the lock is taken, so the lock
        is held only to write, by the process's turn writer (lifecycle/writer.py: on SQLite one
        thread, which writes whatever has queued up in one transaction); if another turn of the
        conversation was saved in between (its version moved), the step is worked out again
        under the lock.  Replays and no-ops take no lock at all.

        Working a step out again reuses the recogniser's decisions of the first working-out (the
        step's record, `decisions`) for the same words and candidate topics: an llm or http
        recogniser is asked once, and its first answer stands (not asked again under the lock,
        unless the turn saved meanwhile changed which topics can be triggered).
        """
        now = self.clock.now()
        decisions: dict[tuple[str, tuple[str, ...]], Decision] = {}

        def plan(conversation: Conversation) -> _Plan:
            made = self._plan(
                conversation, compute, now=now, inbound=inbound, event_id=event_id, carried=carried,
                continuation=continuation, sequence=sequence, release=release,
                release_due_before=release_due_before, recorded=tuple(decisions.values()),
            )
            for decision in made.step.result.decisions if made.step.result is not None else ():
                decisions.setdefault((decision.text, decision.topics), decision)
            return made

        def read_and_plan() -> tuple[_Plan, int]:
            snapshot = self.store.get_conversation(conversation_id)
            if snapshot is None:
                raise UnknownConversationError(conversation_id)
            if channel is not None and snapshot.channel != channel:
                raise ForeignConversationError(conversation_id, channel, snapshot.channel)
            return plan(snapshot), snapshot.version

        def write(batch: TurnBatch) -> _Plan:
            try:
                turn = batch.turn(conversation_id)
            except ConversationNotFoundError:
                raise UnknownConversationError(conversation_id) from None
            written = planned if turn.conversation.version == version else plan(turn.conversation)
            if written.state is not None:
                turn.save(written.state, written.activities)
                if written.end is not None:
                    self._record_end(turn, written.end, written.end_topics)
            return written

        planned, version = await asyncio.to_thread(read_and_plan)
        if planned.state is None:
            return planned.step
        planned = await self._writer.write(conversation_id, write)
        if planned.held:
            log.info("end_held_for_transfer_result", conversation_id=conversation_id, event_id=event_id)
        return planned.step

    def _plan(
        self,
        conversation: Conversation,
        compute: Compute | None,
        *,
        now: dt.datetime,
        inbound: Activity | None,
        event_id: str | None,
        carried: Sequence[AgentOutput],
        continuation: bool,
        sequence: int | None,
        release: bool,
        release_due_before: dt.datetime | None,
        recorded: Sequence[Decision] = (),
    ) -> _Plan:
        """What a step answers and writes, from the conversation as saved (no I/O).

        The decisions (replay, hold, release, run) are `planning.py`'s; this method parses the
        state, runs the engine when told to, and shapes what to write.
        """
        conversation_id = conversation.id
        saved = dict(conversation.state or {})
        book = Bookkeeping.from_json(saved.pop(LIFECYCLE_KEY, None))
        delivery = Delivery(
            event_id=event_id,
            continuation=continuation,
            inbound=inbound is not None,
            inbound_end=inbound is not None and inbound.type is ActivityType.END_OF_CONVERSATION,
            sequence=sequence,
            release=release,
            release_due_before=release_due_before,
        )
        replay = replay_of(
            book, delivery, saved_pending=isinstance(saved.get("pending"), dict), saved_ended=saved.get("end") is not None
        )
        if replay is not None:
            assert event_id is not None
            answer = self._replayed(conversation_id, book.seen[event_id], saved)
            if replay is Action.RESUME_SUSPENDED:
                # This delivery's turn was suspended on an in-call action and never resumed
                # (the process handling it died): carry it on.  The action runs again with
                # the same Idempotency-Key, and its result resumes the turn.
                request = ActionRequest.from_json(saved["pending"]["request"])
                suspended = TurnResult(state=ConversationState.from_json(saved), pending=request)
                log.info("suspended_turn_resumed", conversation_id=conversation_id, event_id=event_id,
                         node=request.node_id)
                return _Plan(_Step(answer, suspended))
            return _Plan(_Step(answer, None))
        if "conversation_id" in saved:
            state = ConversationState.from_json(saved)
        else:
            state = self.engine.new_state(
                conversation_id,
                now=conversation.started_at or now,
                channel_id=conversation.channel or "test",
                user_id=conversation.caller,
            )
        held = book.held
        action, book = decide(book, delivery, pending=state.pending is not None, waiting_for=state.waiting_for)
        if action is Action.REPLAY:
            # Another delivery of the same event resumed this turn first (a redelivery while
            # this process still waited on the action): answer with what that one stored.
            assert event_id is not None
            return _Plan(_Step(self._replayed(conversation_id, book.seen[event_id], saved), None))
        if action is Action.UNCHANGED:
            return _Plan(_Step(_unchanged(conversation_id, carried, book.turn, state), None))
        if action is Action.HOLD:
            assert inbound is not None
            book = hold(book, inbound.to_json(), event_id, now, self.held_end_grace_s)
            answer = TurnOutcome(conversation_id, tuple(carried), book.turn, ended=False, end_reason=None)
            return _Plan(
                _Step(answer, None),
                state={**saved, LIFECYCLE_KEY: book.to_json()},
                activities=[NewActivity("in", str(inbound.type), inbound.to_json(), at=now)],
                held=True,
            )
        if action is Action.RELEASE:
            assert held is not None
            activity = Activity.from_json(held.activity)
            event_id = held.event_id
            engine = self.engine
            now = release_time(
                held, now=now, by_sweep=release_due_before is not None,
                last_activity=state.last_activity_at or state.started_at,
            )

            def run_held(st: ConversationState, at: dt.datetime, recorded: Sequence[Decision]) -> TurnResult:
                return engine.turn(st, activity, now=at, ids=_ids, recorded=recorded)

            compute = run_held
        assert compute is not None
        result = compute(state, now, recorded)
        activities: list[NewActivity] = []
        if inbound is not None:
            activities.append(NewActivity("in", str(inbound.type), inbound.to_json(), at=now))
        for recognition in result.recognitions:  # why this topic (the console explains turns)
            activities.append(NewActivity("out", StoredKind.RECOGNITION, recognition.to_json(), at=now))
        for note in result.notes:  # what failed out of the caller's hearing (a model call)
            activities.append(NewActivity("out", StoredKind.NOTE, note.to_json(), at=now))
        for output in result.outputs:
            activities.append(NewActivity("out", type(output).__name__, output_to_json(output), at=now))
        outputs = (*carried, *result.outputs)
        turn_no = next_turn(book.turn, continuation=continuation, ignored=result.ignored)
        book = replace(book, turn=turn_no)
        end_reason = str(result.state.end.reason) if result.state.end is not None else None
        reply = result.outputs if release else outputs  # a released end answers for itself
        book = book.remember(
            event_id, SeenReply(tuple(output_to_json(o) for o in reply), turn_no, suspended=result.pending is not None)
        )
        new_state = result.state.to_json()
        new_state[LIFECYCLE_KEY] = book.to_json()
        outcome = TurnOutcome(
            conversation_id=conversation_id,
            outputs=tuple(outputs),
            turn=turn_no,
            ended=end_reason is not None,
            end_reason=end_reason,
        )
        ends = result.end is not None and result.end_snapshot is not None
        return _Plan(
            _Step(outcome, result, held_waiting=book.held is not None and not release),
            state=new_state,
            activities=activities,
            end=result if ends else None,
            end_topics=list(result.post_call_topics) if ends else [],
        )

    def _record_end(self, turn: Turn, result: TurnResult, topics: Sequence[str]) -> None:
        assert result.end is not None and result.end_snapshot is not None
        runs = topic_runs(topics, result.end_snapshot)
        record: StoredEnd = {
            "reason": result.end.reason,
            "initiator": result.end.initiator,
            "detail": result.end.detail(),
            "ended_at": result.end.ended_at.isoformat(),
            "post_call_topics": list(topics),
        }
        first = turn.end(record, runs)
        log.info(
            "conversation_ended",
            conversation_id=turn.conversation.id,
            reason=str(result.end.reason),
            post_call_topics=topics,
            first=first,
        )

    def _replayed(self, conversation_id: str, entry: SeenReply, saved: dict[str, Any]) -> TurnOutcome:
        end = saved.get("end") or {}
        reason = end.get("reason") if isinstance(end, dict) else None
        return TurnOutcome(
            conversation_id=conversation_id,
            outputs=tuple(output_from_json(o) for o in entry.outputs),
            turn=entry.turn,
            ended=reason is not None,
            end_reason=reason,
            duplicate=True,
        )

    async def _run_in_call_action(self, request: ActionRequest) -> ActionResult:
        settings = action_settings_for(self.agent, request.topic)
        with tracing.call_span("postcall.action", request.conversation_id,
                               {"postcall.kind": str(request.kind), "postcall.topic": request.topic, "postcall.node": request.node_id}) as span:
            result = await execute_action(request, settings, http_client=self.http, telemetry=self.store)
            tracing.set_attributes(span, **{"postcall.ok": result.ok, "postcall.attempts": result.attempts,
                                            "http.response.status_code": result.status_code})
            return result


def _ids() -> str:
    return uuid.uuid4().hex


def _unchanged(conversation_id: str, carried: Sequence[AgentOutput], turn_no: int, state: ConversationState) -> TurnOutcome:
    reason = str(state.end.reason) if state.end is not None else None
    return TurnOutcome(conversation_id, tuple(carried), turn_no, ended=reason is not None, end_reason=reason)
