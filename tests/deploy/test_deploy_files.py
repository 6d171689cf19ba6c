"""The container image, the compose file, the Caddyfile and the systemd unit agree with the code.

Containers cannot run on the test machine; these checks hold the files to what the code reads
(environment variable names, options, ports, health path), and test_compose_topology.py runs
the very commands the containers run.
"""

from __future__ import annotations

import re
import tomllib

import click
import pytest

from deploy.topology import (
    DEPLOY,
    REPO,
    commands,
    compose,
    dockerfile_exec,
    dockerfile_instructions,
    env_example,
    postcall_services,
)
from postcall.cli.main import cli
from postcall.lifecycle.programs import ENV_OVERRIDES_VAR
from postcall.server.auth import TOKEN_ENV
from postcall.server.metrics import OTEL_ENV
from postcall.store.database import ENV_VAR as DATABASE_ENV
from postcall.topics.config import EventsChannel, TwilioChannel

CODE_ENV = {DATABASE_ENV, TOKEN_ENV, OTEL_ENV, ENV_OVERRIDES_VAR, TwilioChannel.AUTH_TOKEN_ENV, EventsChannel.SECRET_ENV}
AGENT = REPO / "examples" / "contoso-support"
CRM = REPO / "examples" / "crm"


def parse(argv: list[str]) -> click.Context:
    """Parse `postcall SUBCOMMAND ...` down to the subcommand's own options (a UsageError if wrong)."""
    parent = click.Context(cli, info_name="postcall")
    command = cli.get_command(parent, argv[0])
    assert command is not None, f"no command {argv[0]!r}"
    return command.make_context(argv[0], list(argv[1:]), parent=parent)


def test_the_image_is_small_non_root_healthy_and_runs_postcall() -> None:
    steps = dockerfile_instructions()
    bases = [rest for word, rest in steps if word == "FROM"]
    assert bases and all(re.match(r"python:3\.\d+-slim\b", b) for b in bases), bases
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    script = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert dockerfile_exec("ENTRYPOINT") == ["postcall"] and "postcall" in script
    cmd = dockerfile_exec("CMD")
    port = cmd[cmd.index("--port") + 1]
    health = " ".join(dockerfile_exec("HEALTHCHECK"))
    assert f"http://127.0.0.1:{port}/healthz" in health
    assert [rest for word, rest in steps if word == "EXPOSE"] == [port]


def test_every_container_command_is_a_valid_postcall_command() -> None:
    values = {name: "x" for name in env_example()} | {"PUBLIC_BASE_URL": "https://voice.example.com"}
    found = commands(values, AGENT, CRM)
    assert set(found) == {"serve-1", "serve-2", "worker-1", "worker-2"}
    for name, argv in found.items():
        assert argv[0] == "postcall"
        try:
            parse(argv[1:])
        except click.UsageError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{name}: {' '.join(argv)}: {exc}")
    with pytest.raises(click.UsageError):
        parse(["serve", str(AGENT), "--no-such-option"])  # the check can fail
    serve = found["serve-1"]
    assert serve[1] == "serve" and serve[serve.index("--workers") + 1] == "0"  # runs are the workers' job


def test_compose_services_ports_and_env_names_match_the_code() -> None:
    services = compose()["services"]
    assert {"postgres", "serve-1", "serve-2", "worker-1", "worker-2", "proxy", "crm"} <= set(services)
    for name, service in postcall_services().items():
        unknown = set(service.get("environment") or {}) - CODE_ENV
        assert not unknown, f"{name} sets environment variables the code never reads: {unknown}"
        url = service["environment"][DATABASE_ENV]
        assert url.startswith("postgresql://") and "@postgres:5432/" + services["postgres"]["environment"]["POSTGRES_DB"] in url
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddy)
    assert upstreams is not None
    ports = {name: argv[argv.index("--port") + 1] for name, argv in commands({k: "x" for k in env_example()}, AGENT, CRM).items() if "serve" in argv}
    assert sorted(upstreams.group(1).split()) == sorted(f"{name}:{port}" for name, port in ports.items())
    assert "health_uri /healthz" in caddy
    used = set(re.findall(r"\$\{(\w+)\}", (DEPLOY / "compose.yaml").read_text(encoding="utf-8")))
    used |= set(re.findall(r"\{\$(\w+)\}", caddy))
    assert used <= set(env_example()), f"deploy/env.example lacks {used - set(env_example())}"


def test_the_systemd_unit_runs_serve_with_options_that_exist() -> None:
    unit = (DEPLOY / "postcall.service").read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(.+)$", unit, flags=re.M)
    assert exec_start is not None
    argv = exec_start.group(1).replace("${PUBLIC_BASE_URL}", "https://voice.example.com").split()
    assert argv[0].endswith("/postcall") and argv[1] == "serve"
    argv[2] = str(AGENT)
    parse(argv[1:])
    assert re.search(r"^User=postcall$", unit, flags=re.M) and "ReadWritePaths=/srv/postcall/agent/.postcall" in unit
