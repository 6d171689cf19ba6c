"""docs/operations.md's configuration reference lists exactly what the code accepts, so it cannot drift.

Every CLI command and option, every environment variable the code reads and every agent.yaml
key is compared with the tables of the page, both ways: a new option without a row fails, and
so does a row for an option that no longer exists.
"""

from __future__ import annotations

import re

from docs.reference import REPO, agent_yaml_keys, commands, env_vars, options

PAGE = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
REFERENCE = PAGE.split("## Configuration reference", 1)[1]


def _section(title: str) -> str:
    start = REFERENCE.index(title)
    rest = REFERENCE[start + len(title):]
    following = re.search(r"^#{3,4} ", rest, flags=re.M)
    return rest[: following.start()] if following else rest


def _first_column(table: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.M))


def test_every_command_and_option_is_in_the_reference() -> None:
    documented = set(re.findall(r"^#### `(postcall [^`]+)`$", REFERENCE, flags=re.M))
    code = dict(commands())
    assert documented == set(code), (
        f"docs/operations.md: add a '#### `COMMAND`' section for {sorted(set(code) - documented)}, "
        f"remove {sorted(documented - set(code))}"
    )
    for name, command in code.items():
        rows = _first_column(_section(f"#### `{name}`"))
        wanted = options(command)
        assert rows == wanted, f"{name}: document {sorted(wanted - rows)}, remove {sorted(rows - wanted)} (docs/operations.md)"


def test_every_environment_variable_is_in_the_reference() -> None:
    rows = _first_column(_section("### Environment variables"))
    assert rows == env_vars(), f"document {sorted(env_vars() - rows)}, remove {sorted(rows - env_vars())} (docs/operations.md)"


def test_every_agent_yaml_key_is_in_the_reference() -> None:
    rows = _first_column(_section("### agent.yaml keys"))
    keys = agent_yaml_keys()
    assert rows == keys, f"document {sorted(keys - rows)}, remove {sorted(rows - keys)} (docs/operations.md)"


def test_the_reference_check_can_fail() -> None:
    from postcall.cli.main import cli

    assert "--public-base-url" in options(cli.commands["serve"]) and "--public-base-url" in _section("#### `postcall serve`")
    assert "retention.transcripts_days" in agent_yaml_keys() and "POSTCALL_DATABASE_URL" in env_vars()
