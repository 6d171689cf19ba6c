"""A summary of a loaded agent for `postcall check` and the compatibility report."""

from __future__ import annotations

from collections import Counter
from typing import Any

from postcall.topics.loader import LoadResult
from postcall.topics.model import TRIGGER_KINDS, Trigger, UnsupportedNode
from postcall.topics.schema_data import KINDS


def summarize(result: LoadResult) -> dict[str, Any]:
    """Counts: topics by trigger kind, nodes by kind, formulas, diagnostics by severity, and

    * `unsupported_kinds`: valid Copilot Studio kinds (of the schema) that this runtime does
      not run, nodes and triggers;
    * `unknown_kinds`: kinds Copilot Studio does not define either (misspellings);
    * `invalid_nodes`: nodes of supported kinds that failed validation (a required field
      missing or wrong), by kind.

    Plain JSON-able data; dict keys sorted by count, then name."""
    triggers: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    unsupported: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    agent = result.agent
    if agent is not None:
        for topic in agent.topics.values():
            triggers[topic.trigger.kind] += 1
            for node in topic.walk():
                nodes[node.kind] += 1
                if isinstance(node, UnsupportedNode):
                    if node.invalid:
                        invalid[node.kind] += 1
                    elif node.known_kind:
                        unsupported[node.kind] += 1
                    else:
                        unknown[node.kind] += 1
            for trigger in (topic.trigger, *topic.extra_triggers):
                where = _trigger_class(trigger)
                if where == "unsupported":
                    unsupported[trigger.kind] += 1
                elif where == "unknown":
                    unknown[trigger.kind] += 1
    severities = Counter(str(d.severity) for d in result.diagnostics)
    needs_config: dict[str, str] = {}
    voice: dict[str, str] = {}
    for diag in result.diagnostics:
        where = f"{diag.span.path}:{diag.span.line}" if diag.span else "agent"
        if diag.code in _NEEDS_CONFIG:
            needs_config[where] = _NEEDS_CONFIG[diag.code]
        elif diag.code in _ON_VOICE:
            voice[where] = diag.message.split(":", 1)[0] if diag.code == "TPC262" else _ON_VOICE[diag.code]
    return {
        "agent": agent.name if agent is not None else None,
        "layout": agent.layout if agent is not None else None,
        "topics": len(agent.topics) if agent is not None else 0,
        "topics_by_trigger": _ordered(triggers),
        "nodes_by_kind": _ordered(nodes),
        "nodes": sum(nodes.values()),
        "formulas": result.formula_count,
        "unsupported_kinds": _ordered(unsupported),
        "unknown_kinds": _ordered(unknown),
        "invalid_nodes": _ordered(invalid),
        "runs_once_configured": needs_config,
        "voice_behaviour": voice,
        "errors": severities.get("error", 0),
        "warnings": severities.get("warning", 0),
        "infos": severities.get("info", 0),
    }


# What `check` says about a node that runs only once something is configured, or that does
# something else on a phone line (the diagnostics carry the detail).
_NEEDS_CONFIG = {
    "TPC260": "a flow: bind it in agent.yaml flows:",
    "TPC237": "a connector operation: bind it in agent.yaml connectors:",
    "TPC263": "a skill endpoint: bind it in agent.yaml flows: as skill:<skillId>",
}
_ON_VOICE = {
    "TPC262": "",
    "TPC261": "a default system topic runs",
    "TPC264": "the caller's words are kept as text",
}


def _trigger_class(trigger: Trigger) -> str | None:
    """"unsupported" for a schema trigger kind the runtime never fires, "unknown" for a kind
    outside the schema, None otherwise (a supported kind, or a topic whose trigger could not
    be read at all: its errors were reported)."""
    if trigger.supported or trigger.kind in TRIGGER_KINDS or not trigger.kind:
        return None
    return "unsupported" if trigger.kind in KINDS["TriggerBase"] else "unknown"


def _ordered(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def format_summary(summary: dict[str, Any]) -> str:
    """The text form printed after the diagnostics."""

    def counts(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    lines = [
        f"Agent {summary['agent']} ({summary['layout']} layout): {plural(summary['topics'], 'topic')}",
        f"  topics by trigger: {counts(summary['topics_by_trigger'])}",
        f"  nodes by kind:     {counts(summary['nodes_by_kind'])}",
        f"  formulas:          {summary['formulas']}",
        f"  unsupported kinds: {counts(summary['unsupported_kinds'])}",
    ]
    if summary.get("unknown_kinds"):
        lines.append(f"  unknown kinds:     {counts(summary['unknown_kinds'])}")
    if summary.get("invalid_nodes"):
        lines.append(f"  invalid nodes:     {counts(summary['invalid_nodes'])}")
    if summary.get("runs_once_configured"):
        lines.append(f"  runs once configured: {len(summary['runs_once_configured'])} (TPC260/TPC237/TPC263 above)")
    if summary.get("voice_behaviour"):
        lines.append(f"  voice behaviour:   {len(summary['voice_behaviour'])} (TPC261/TPC262/TPC264 above)")
    lines.append(
        f"{plural(summary['errors'], 'error')}, {plural(summary['warnings'], 'warning')}, "
        f"{plural(summary['infos'], 'info')}"
    )
    return "\n".join(lines)
