"""`postcall simulate AGENT`: drive every topic of an agent with generated callers.

The user's pre-flight before a first real call.  For each topic a caller can start (its trigger
phrases) and each topic other topics redirect to, the simulator places in-process calls
(`postcall.testing.Conversation`) with generated callers:

* ``answer``: says the trigger phrase, then answers each question as its entity expects
  ("forty two" for a number, "next Tuesday at 3 pm" for a date, an option's name for a list);
* ``off-script``: says something no topic expects at the first question, then answers;
* ``silence``: stays silent at every question;
* ``keypad``: presses a key at the first question where speech was expected, then answers;
* ``hang-up@N``: hangs up after N answers, for each step of the answer path.

Plus three calls for the agent as a whole (an off-script opening, silence, a keypad press).
Backend actions go through the one action layer (`postcall.actions`, as in production: allowed
hosts, the private-address refusal, 2xx-only success, retries) with only the plumbing swapped:
an `httpx.MockTransport` answers every request that passes the checks with an empty JSON success
and a resolver answers host names without the network (`simulated_resolver`), so nothing leaves
the process and a host production refuses is refused here too.  A call is *clean* when no turn logged a runtime fault, nothing raised,
and the call ended; a fault of a flow, connector, skill or prompt that needs the customer's
tenant or model (RUN453, RUN460, RUN470) counts as clean only when `postcall check` named that
node beforehand (TPC260, TPC237, TPC263, GEN310, GEN311).
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from postcall.diagnostics import Diagnostic, SourceSpan
from postcall.engine.engine import TurnResult
from postcall.engine.state import Frame
from postcall.knowledge.checks import knowledge_diagnostics
from postcall.testing.conversation import Conversation
from postcall.topics.agent import Agent
from postcall.topics.loader import LoadResult, load_agent
from postcall.topics.model import (
    ClosedListEntity,
    DynamicClosedListEntity,
    EntityReference,
    PrebuiltEntity,
    Question,
    Topic,
)

MAX_CALLER_TURNS = 24
NEEDS_CONFIG_RUNTIME = {"RUN453", "RUN460", "RUN470"}  # flow, connector, prompt (model)
NEEDS_CONFIG_CHECK = {"TPC237", "TPC260", "TPC263", "GEN310", "GEN311"}
OFF_SCRIPT = "what's the weather like on mars today"
UNKNOWN_KEY = "9"

# What a sensible caller says for each prebuilt entity (spoken forms, as a recogniser hears them).
SPOKEN_ANSWERS: dict[str, str] = {
    "BooleanPrebuiltEntity": "yes",
    "NumberPrebuiltEntity": "forty two",
    "AgePrebuiltEntity": "thirty five",
    "MoneyPrebuiltEntity": "twenty five dollars",
    "CurrencyPrebuiltEntity": "twenty five dollars",
    "DateTimePrebuiltEntity": "next Tuesday at 3 pm",
    "DatePrebuiltEntity": "next Tuesday",
    "TimePrebuiltEntity": "at 3 pm",
    "DurationPrebuiltEntity": "two hours",
    "EmailPrebuiltEntity": "j dot smith at contoso dot com",
    "PhoneNumberPrebuiltEntity": "four two five five five five zero one nine nine",
    "ZipCodePrebuiltEntity": "nine eight zero five two",
    "CityPrebuiltEntity": "Seattle",
    "StatePrebuiltEntity": "Washington",
    "CountryOrRegionPrebuiltEntity": "Canada",
    "ContinentPrebuiltEntity": "Europe",
    "PersonNamePrebuiltEntity": "my name is Ada Lovelace",
    "OrdinalPrebuiltEntity": "the second one",
    "PercentagePrebuiltEntity": "fifty percent",
    "TemperaturePrebuiltEntity": "seventy degrees",
    "URLPrebuiltEntity": "contoso dot com",
    "ColorPrebuiltEntity": "blue",
    "LanguagePrebuiltEntity": "English",
    "OrganizationPrebuiltEntity": "Contoso",
    "PointOfInterestPrebuiltEntity": "the Space Needle",
    "EventPrebuiltEntity": "the annual conference",
    "DimensionPrebuiltEntity": "five meters",
    "SpeedPrebuiltEntity": "sixty miles per hour",
    "WeightPrebuiltEntity": "ten pounds",
    "StringPrebuiltEntity": "I need some help with my account please",
}


SIMULATED_PUBLIC_ADDRESS = "93.184.215.14"
"""What a host name resolves to in a simulation (a public address: nothing is sent to it)."""


def simulated_response(request: httpx.Request) -> httpx.Response:
    """Every request that passed the action layer's checks gets an empty JSON success."""
    return httpx.Response(200, json={})


async def simulated_resolver(host: str, port: int) -> list[str]:
    """DNS without the network: `localhost` is loopback, every other name a public address.

    Literal addresses never reach the resolver, so a topic calling 127.0.0.1, 10.0.0.5 or the
    metadata service without an allowed_hosts entry is refused here exactly as in production."""
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    return [SIMULATED_PUBLIC_ADDRESS]


@dataclass
class Fault:
    """One runtime fault (or crash) of a simulated call."""

    code: str
    message: str
    topic: str | None
    node: str | None
    node_kind: str | None
    where: str | None  # path:line
    needs_config: bool = False
    foretold: bool = False  # `postcall check` gave a warning or an error on this node or line

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code, "message": self.message, "topic": self.topic, "node": self.node,
            "node_kind": self.node_kind, "where": self.where, "needs_config": self.needs_config,
            "foretold_by_check": self.foretold,
        }


@dataclass
class CallOutcome:
    topic: str | None  # the topic driven (None: the agent as a whole)
    scenario: str
    end: str | None = None
    node_kinds: Counter[str] = field(default_factory=Counter)
    topics_ran: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    crash: str | None = None
    caller_turns: int = 0
    answers: int = 0
    transcript: list[dict[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.crash is None and self.end is not None and all(f.needs_config for f in self.faults)

    def to_json(self, *, transcript: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "topic": self.topic, "scenario": self.scenario, "clean": self.clean, "end": self.end,
            "caller_turns": self.caller_turns, "node_kinds": dict(self.node_kinds),
            "topics_ran": self.topics_ran, "faults": [f.to_json() for f in self.faults],
            "crash": self.crash,
        }
        if transcript:
            out["transcript"] = self.transcript
        return out


@dataclass
class SimulationReport:
    agent: str
    path: str
    load_errors: list[str] = field(default_factory=list)
    calls: list[CallOutcome] = field(default_factory=list)
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def clean_calls(self) -> int:
        return sum(1 for c in self.calls if c.clean)

    @property
    def crashes(self) -> int:
        return sum(1 for c in self.calls if c.crash is not None)

    def by_node_kind(self) -> dict[str, tuple[int, int]]:
        """Node kind -> (calls that ran it, of those clean)."""
        total: Counter[str] = Counter()
        clean: Counter[str] = Counter()
        for call in self.calls:
            kinds = set(call.node_kinds) | {f.node_kind for f in call.faults if f.node_kind}
            for kind in kinds:
                total[kind] += 1
                if call.clean:
                    clean[kind] += 1
        return {k: (total[k], clean[k]) for k in sorted(total)}

    def unforetold(self) -> int:
        """Faults on a node or line `postcall check` said nothing about (check's blind spots)."""
        return sum(1 for c in self.calls for f in c.faults if not f.needs_config and not f.foretold)

    def faults_by(self, key: Callable[[Fault], str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for call in self.calls:
            for fault in call.faults:
                if not fault.needs_config:
                    counts[key(fault)] += 1
        return counts

    def to_json(self, *, transcripts: bool = False) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "path": self.path,
            "load_errors": self.load_errors,
            "summary": {
                "calls": len(self.calls),
                "clean": self.clean_calls,
                "clean_rate": self.clean_calls / len(self.calls) if self.calls else None,
                "crashes": self.crashes,
                "by_node_kind": {k: {"calls": t, "clean": c} for k, (t, c) in self.by_node_kind().items()},
                "faults_by_code": dict(self.faults_by(lambda f: f.code)),
                "faults_by_node_kind": dict(self.faults_by(lambda f: f.node_kind or "?")),
                "faults_check_did_not_name": self.unforetold(),
            },
            "topics": self.topics,
            "calls": [c.to_json(transcript=transcripts) for c in self.calls],
        }


# ---------------------------------------------------------------------------------------------
# answers


def _closed_list_answer(entity: ClosedListEntity) -> str:
    if entity.items:
        item = entity.items[0]
        return item.display_name or item.id
    return "the first one"


def answer_for(agent: Agent, node: Question) -> tuple[str, str]:
    """("say", text) or ("press", digits): what a sensible caller answers to this question."""
    entity = node.entity
    if isinstance(entity, PrebuiltEntity):
        if entity.dtmf_options is not None:
            return "press", "1234#"
        return "say", SPOKEN_ANSWERS.get(entity.name, "yes")
    if isinstance(entity, ClosedListEntity):
        return "say", _closed_list_answer(entity)
    if isinstance(entity, DynamicClosedListEntity):
        return "say", "the first one"
    assert isinstance(entity, EntityReference)
    custom = _custom_entity(agent, entity)
    if custom is not None:
        return "say", _closed_list_answer(custom)
    return "say", "the first one"


def _custom_entity(agent: Agent, entity: EntityReference) -> ClosedListEntity | None:
    found = agent.find_entity(entity.entity_id)
    return found if isinstance(found, ClosedListEntity) else None


def trigger_phrase(topic: Topic) -> str | None:
    queries = [q for q in topic.trigger.trigger_queries if q.strip()]
    return queries[0] if queries else None


# ---------------------------------------------------------------------------------------------
# one call


_STARTED = re.compile(r"^topic '(?P<name>.+)' started \((?P<by>[^)]*)\)$")


class _Call:
    def __init__(self, sim: Simulator, topic: Topic | None, scenario: str) -> None:
        self.sim = sim
        self.topic = topic
        self.outcome = CallOutcome(topic.name if topic else None, scenario)
        self.conv = Conversation(
            sim.agent, conversation_id=f"sim-{scenario}", run_post_call=True, in_test_mode=True,
            channel_id="telephony", transport=httpx.MockTransport(simulated_response), resolver=simulated_resolver,
        )
        self.seen_results = 0

    def waiting(self) -> Question | None:
        frame: Frame | None = self.conv.state.stack[-1] if self.conv.state.stack else None
        if frame is None or frame.question is None or frame.question.interrupted:
            return None
        node = self.conv.engine.node(frame.topic, frame.question.node_id)
        return node if isinstance(node, Question) else None

    def collect(self) -> None:
        for result in self.conv.results[self.seen_results:]:
            self._collect_result(result)
        self.seen_results = len(self.conv.results)

    def _collect_result(self, result: TurnResult) -> None:
        for step in result.steps:
            self.outcome.node_kinds[str(step.get("kind"))] += 1
        for entry in result.log:
            if entry.level == "info":
                m = _STARTED.match(entry.message)
                if m and m.group("name") not in self.outcome.topics_ran:
                    self.outcome.topics_ran.append(m.group("name"))
                continue
            if entry.level != "error":
                continue
            self.outcome.faults.append(self.sim.fault(entry.code or "RUN459", entry.message, entry.topic, entry.node, entry.span))

    def act(self, verb: str, arg: str | None = None) -> None:
        self.outcome.caller_turns += 1
        if verb == "say":
            assert arg is not None
            self.conv.say(arg)
        elif verb == "press":
            assert arg is not None
            self.conv.press(arg)
        elif verb == "silence":
            self.conv.silence()
        elif verb == "hang-up":
            self.conv.hang_up()
        self.collect()

    def finish(self) -> CallOutcome:
        if not self.conv.ended:
            self.act("hang-up")
        for run in self.conv.post_call_runs:
            if run.topic not in self.outcome.topics_ran:
                self.outcome.topics_ran.append(run.topic)
            for step in run.steps:
                kind = step.get("kind")
                if kind:
                    self.outcome.node_kinds[str(kind)] += 1
            if run.status not in {"succeeded", "skipped"} and run.error:
                code = m.group(0) if (m := re.search(r"RUN4\d\d", run.error)) else "RUN459"
                self.outcome.faults.append(self.sim.fault(code, run.error, run.topic, None, None))
        end = self.conv.end
        self.outcome.end = str(end.reason) if end is not None else None
        self.outcome.transcript = [line.to_json() for line in self.conv.transcript]
        self.conv.close()
        return self.outcome


ScenarioStep = Callable[[int, Question], tuple[str, str | None]]


class Simulator:
    """Drives an agent's topics with generated callers (see the module docstring)."""

    def __init__(self, agent: Agent, diagnostics: list[Diagnostic]) -> None:
        self.agent = agent
        self.diagnostics = diagnostics
        self.named_by_check: set[tuple[str, int]] = set()
        for diag in diagnostics:
            if diag.code in NEEDS_CONFIG_CHECK and diag.span is not None:
                self.named_by_check.add((_norm(diag.span.path), diag.span.line))
        self.diag_lines: dict[str, set[int]] = {}
        for diag in diagnostics:
            if diag.span is not None and str(diag.severity) in ("warning", "error"):
                self.diag_lines.setdefault(_norm(diag.span.path), set()).add(diag.span.line)
        self.node_ranges: dict[tuple[str, str], tuple[str, int, int]] = {}
        for topic in agent.topics.values():
            nodes = sorted(topic.walk(), key=lambda n: n.span.line)
            for i, node in enumerate(nodes):
                end = nodes[i + 1].span.line - 1 if i + 1 < len(nodes) else node.span.line + 10_000
                self.node_ranges[(topic.name, node.id)] = (_norm(node.span.path), node.span.line, max(end, node.span.line))

    # -- faults --------------------------------------------------------------------------------

    def fault(self, code: str, message: str, topic: str | None, node: str | None, span: SourceSpan | None) -> Fault:
        node_obj = None
        if topic and node and topic in self.agent.topics:
            node_obj = self.agent.topics[topic].find_node(node)
        where_span = node_obj.span if node_obj is not None else span
        if where_span is None and topic in self.agent.topics:
            where_span = self.agent.topics[topic].span  # type: ignore[index]
        where = f"{where_span.path}:{where_span.line}" if where_span is not None else None
        needs = False
        if code in NEEDS_CONFIG_RUNTIME and node_obj is not None:
            needs = (_norm(node_obj.span.path), node_obj.span.line) in self.named_by_check
        kind = node_obj.kind if node_obj is not None else None
        return Fault(code, message, topic, node, kind, where, needs, self._foretold(topic, node, span))

    def _foretold(self, topic: str | None, node: str | None, span: SourceSpan | None) -> bool:
        if span is not None and span.line in self.diag_lines.get(_norm(span.path), set()):
            return True
        found = self.node_ranges.get((topic or "", node or ""))
        if found is None:
            return False
        path, first, last = found
        return any(first <= line <= last for line in self.diag_lines.get(path, ()))

    # -- calls ---------------------------------------------------------------------------------

    def call(self, topic: Topic | None, scenario: str, step: ScenarioStep, *, phrase: str | None,
             opening: tuple[str, str | None] | None = None, stop_after: int | None = None) -> CallOutcome:
        call = _Call(self, topic, scenario)
        try:
            call.conv.start()
            call.collect()
            said = False
            answered = 0
            while not call.conv.ended and call.outcome.caller_turns < MAX_CALLER_TURNS:
                question = call.waiting()
                if question is None:
                    if not said:
                        said = True
                        if opening is not None:
                            call.act(*opening)
                            continue
                        if phrase is not None:
                            call.act("say", phrase)
                            continue
                        if topic is not None:
                            self._start_directly(call, topic)
                            continue
                    break
                if stop_after is not None and answered >= stop_after:
                    break
                verb, arg = step(answered, question)
                answered += 1
                call.outcome.answers = answered
                call.act(verb, arg)
            return call.finish()
        except Exception as exc:  # a crash is a finding, never the end of the simulation
            call.outcome.crash = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
            try:
                call.conv.close()
            except Exception:  # pragma: no cover - closing a fake executor does not fail
                pass
            return call.outcome

    def _start_directly(self, call: _Call, topic: Topic) -> None:
        """Start a topic no phrase starts (OnRedirect): as a BeginDialog would, inputs generated."""
        inputs: dict[str, Any] = {}
        for param in topic.inputs:
            inputs[param.name] = _sample_input(param.type)
        frame = Frame(topic=topic.name, started_by="simulate")
        for name, value in inputs.items():
            frame.variables[name] = value
        call.conv.state.stack.append(frame)
        call.outcome.caller_turns += 1
        call.conv.event("postcall.simulate.begin")
        call.collect()

    def answer_step(self, index: int, question: Question) -> tuple[str, str | None]:
        return answer_for(self.agent, question)

    def scenarios(self, topic: Topic) -> list[tuple[str, ScenarioStep, int | None]]:
        answer = self.answer_step

        def off_script(i: int, q: Question) -> tuple[str, str | None]:
            return ("say", OFF_SCRIPT) if i == 0 else answer(i, q)

        def keypad(i: int, q: Question) -> tuple[str, str | None]:
            return ("press", UNKNOWN_KEY) if i == 0 else answer(i, q)

        def silence(i: int, q: Question) -> tuple[str, str | None]:
            return "silence", None

        return [
            ("answer", answer, None), ("off-script", off_script, None), ("silence", silence, None),
            ("keypad", keypad, None),
        ]

    def simulate_topic(self, topic: Topic) -> list[CallOutcome]:
        phrase = trigger_phrase(topic)
        outcomes: list[CallOutcome] = []
        for name, step, stop in self.scenarios(topic):
            outcomes.append(self.call(topic, name, step, phrase=phrase, stop_after=stop))
        # Hang up at each question of the answer path, after k answers.
        answered = outcomes[0].answers if outcomes else 0
        for k in range(0, min(answered, MAX_CALLER_TURNS)):
            outcomes.append(self.call(topic, f"hang-up@{k}", self.answer_step, phrase=phrase, stop_after=k))
        return outcomes

    def simulate_agent_calls(self) -> list[CallOutcome]:
        answer = self.answer_step

        def silence(i: int, q: Question) -> tuple[str, str | None]:
            return "silence", None

        return [
            self.call(None, "agent:off-script", answer, phrase=None, opening=("say", OFF_SCRIPT)),
            self.call(None, "agent:silence", silence, phrase=None, opening=("silence", None)),
            self.call(None, "agent:keypad", answer, phrase=None, opening=("press", UNKNOWN_KEY)),
        ]


def drivable(topic: Topic) -> str | None:
    """How the simulator starts a topic: "phrase", "redirect", or None (reached otherwise)."""
    trigger = topic.trigger
    if trigger.kind in {"OnRecognizedIntent", "OnEscalate"} and trigger_phrase(topic):
        return "phrase"
    if trigger.kind in {"OnRedirect", "OnSystemRedirect"} or (
        trigger.kind == "OnRecognizedIntent" and not trigger.trigger_queries
    ):
        return "redirect"
    return None


def _sample_input(type_name: str | None) -> Any:
    kind = (type_name or "").lower()
    if "number" in kind or "int" in kind:
        return 1
    if "bool" in kind:
        return True
    if "date" in kind:
        return dt.datetime(2026, 1, 6, 15, 0)
    return "test"


def _norm(path: str) -> str:
    return path.replace("\\", "/")


def simulate(path: str | Path, *, env: dict[str, str] | None = None) -> SimulationReport:
    """Load the agent at `path` and drive it; never raises for a bad agent (see load_errors)."""
    result: LoadResult = load_agent(Path(path), env_overrides=dict(env or {}))
    name = result.agent.name if result.agent is not None else Path(path).name
    report = SimulationReport(agent=name, path=str(path))
    report.load_errors = [f"{d.span}: {d.code} {d.message}" if d.span else f"{d.code} {d.message}"
                          for d in result.diagnostics if d.is_error]
    agent = result.agent
    if agent is None:
        return report
    # The same diagnostics `postcall check` prints: a fault is foretold only if check names it.
    sim = Simulator(agent, [*result.diagnostics, *knowledge_diagnostics(agent)])
    for topic in agent.topics.values():
        how = drivable(topic)
        entry: dict[str, Any] = {"path": topic.path, "trigger": topic.trigger.kind, "driven": how}
        if how is None:
            report.topics[topic.name] = entry
            continue
        calls = sim.simulate_topic(topic)
        report.calls.extend(calls)
        entry["calls"] = len(calls)
        entry["clean"] = sum(1 for c in calls if c.clean)
        entry["ends"] = dict(Counter(c.end or "none" for c in calls))
        report.topics[topic.name] = entry
    report.calls.extend(sim.simulate_agent_calls())
    ran: Counter[str] = Counter()
    for call in report.calls:
        ran.update(set(call.topics_ran))
    for name, entry in report.topics.items():
        entry["ran_in_calls"] = ran.get(name, 0)
    return report


def render_text(report: SimulationReport) -> str:
    """The report as the terminal shows it: per topic what ran and how calls ended, then faults."""
    lines = [f"agent {report.agent} ({report.path})"]
    for error in report.load_errors:
        lines.append(f"  load error: {error}")
    by_topic: dict[str | None, list[CallOutcome]] = {}
    for call in report.calls:
        by_topic.setdefault(call.topic, []).append(call)
    for name, entry in report.topics.items():
        calls = by_topic.get(name, [])
        head = f"topic {name} [{entry['trigger']}] {entry['path']}"
        if not calls:
            lines.append(f"{head}: not driven directly; ran in {entry.get('ran_in_calls', 0)} calls")
            continue
        clean = sum(1 for c in calls if c.clean)
        ends = ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.end or 'no end' for c in calls).items()))
        lines.append(f"{head}: {clean}/{len(calls)} clean; ended: {ends}")
        kinds: Counter[str] = Counter()
        for c in calls:
            kinds.update(c.node_kinds)
        if kinds:
            lines.append("  ran: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        _faults(lines, calls)
    agent_calls = by_topic.get(None, [])
    if agent_calls:
        clean = sum(1 for c in agent_calls if c.clean)
        lines.append(f"whole agent (off-script, silence, keypad): {clean}/{len(agent_calls)} clean")
        _faults(lines, agent_calls)
    total = len(report.calls)
    rate = f"{100 * report.clean_calls / total:.1f}%" if total else "n/a"
    lines.append(
        f"{total} simulated calls, {report.clean_calls} clean ({rate}), "
        f"{sum(len([f for f in c.faults if not f.needs_config]) for c in report.calls)} faults, "
        f"{report.crashes} crashes; {report.unforetold()} faults check did not name"
    )
    return "\n".join(lines)


def _faults(lines: list[str], calls: list[CallOutcome]) -> None:
    seen: dict[tuple[str | None, str, str], list[str]] = {}
    for call in calls:
        for fault in call.faults:
            key = (fault.where, fault.code, fault.message.split("\n")[0][:200])
            seen.setdefault(key, []).append(call.scenario)
            if fault.needs_config:
                seen[key][-1] += " (needs configuration; named by check)"
            elif not fault.foretold:
                seen[key][-1] += " (check did not name it)"
        if call.crash:
            key = (None, "CRASH", call.crash.splitlines()[0])
            seen.setdefault(key, []).append(call.scenario)
    for (where, code, message), scenarios in seen.items():
        lines.append(f"  {where or '?'}: {code} {message} [{', '.join(sorted(set(scenarios)))}]")
