"""The container topology of deploy/compose.yaml, read from the files the operator uses.

`commands()` gives each postcall service's argv exactly as its container runs it (the image's
ENTRYPOINT followed by the service's command, `${VAR}` substituted), with the image's paths
mapped to this checkout (the Dockerfile copies examples/ there), so tests run those very
commands as local processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILE = REPO / "Dockerfile"
IMAGE_AGENT = "/srv/postcall/agent"
IMAGE_CRM = "/srv/postcall/crm"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def dockerfile_exec(instruction: str) -> list[str]:
    """The JSON (exec) form of the last ENTRYPOINT, CMD or HEALTHCHECK's CMD."""
    value = [rest for word, rest in dockerfile_instructions() if word == instruction][-1]
    if instruction == "HEALTHCHECK":
        value = value[value.index("CMD") + 3 :].strip()
    parsed: list[str] = json.loads(value)
    return parsed


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def env_example() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value
    return out


def substitute(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def postcall_services() -> dict[str, dict[str, Any]]:
    """The services that run the postcall image with its entry point."""
    return {name: s for name, s in compose()["services"].items()
            if s.get("image") == "postcall:latest" and "entrypoint" not in s}


def commands(values: Mapping[str, str], agent: Path, crm: Path) -> dict[str, list[str]]:
    """service -> argv as the container runs it, with the image's paths mapped to `agent`/`crm`."""
    entry = dockerfile_exec("ENTRYPOINT")
    out = {}
    for name, service in postcall_services().items():
        argv = [*entry, *(substitute(str(a), values) for a in service.get("command") or dockerfile_exec("CMD"))]
        out[name] = [a.replace(IMAGE_AGENT, str(agent)).replace(IMAGE_CRM, str(crm)) for a in argv]
    return out


def environment(name: str, values: Mapping[str, str]) -> dict[str, str]:
    service = compose()["services"][name]
    return {k: substitute(str(v), values) for k, v in (service.get("environment") or {}).items()}
