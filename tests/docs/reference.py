"""What the configuration reference must list, read from the code: CLI options, env vars, agent.yaml keys."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click

from postcall.cli.main import cli
from postcall.topics import agent_yaml
from postcall.topics.config import Retention

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "postcall"

# Reader labels that are not literal strings in agent_yaml.py, by the function they are in.
_LABELS = {"_retry": ["retry", "topic_settings.<topic>.retry"], "_flows": ["flows.<id>", "connectors.<key>"],
           "_prompts": ["prompts.<id>"]}
_CONSTANTS = {"TOP_KEYS": agent_yaml.TOP_KEYS, "Retention.KEYS": Retention.KEYS}


def commands(group: click.Group = cli, path: tuple[str, ...] = ("postcall",)) -> Iterator[tuple[str, click.Command]]:
    """`postcall serve` -> its command, for every command and subcommand (a group with options too)."""
    for name in sorted(group.commands):
        command = group.commands[name]
        full = (*path, name)
        if not isinstance(command, click.Group) or command.params:
            yield " ".join(full), command
        if isinstance(command, click.Group):
            yield from commands(command, full)


def options(command: click.Command) -> set[str]:
    return {max(p.opts, key=len) for p in command.params if isinstance(p, click.Option)}


def env_vars() -> set[str]:
    """Every POSTCALL_* and TWILIO_* name the code reads (string literals under src/)."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        names |= set(re.findall(r"[\"']((?:POSTCALL|TWILIO)_[A-Z_]+)[\"']", path.read_text(encoding="utf-8")))
    return names


def _keys(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Tuple):
        return tuple(e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return tuple(_CONSTANTS[ast.unparse(node)])


def agent_yaml_keys() -> set[str]:
    """`section.key` for every key agent_yaml.py accepts (top-level keys have no section)."""
    tree = ast.parse((SRC / "topics" / "agent_yaml.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            if not (isinstance(call.func, ast.Name) and call.func.id == "_Reader") or len(call.args) < 4:
                continue
            label = call.args[2]
            if isinstance(label, ast.Constant):
                sections = [] if label.value == "agent.yaml" else [str(label.value)]
            elif isinstance(label, ast.JoinedStr):
                sections = ["topic_settings.<topic>"]
            else:
                sections = _LABELS[function.name]
            for key in _keys(call.args[3]):
                found |= {f"{s}.{key}" for s in sections} if sections else {key}
    return found
