"""Programs are registered explicitly: an executor runs what the registry it was handed holds, nothing else."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from durable.programs_for_tests import Exploding
from postcall.cli.runs import _programs_for
from postcall.devtools.scripted import INSTALL, PROGRAM_NAME, ScriptedProgram
from postcall.durable import ProgramRegistry
from postcall.errors import ConfigError
from postcall.lifecycle.programs import PROGRAM as TOPIC_PROGRAM

CONTOSO = Path(__file__).resolve().parents[2] / "examples" / "contoso-support"


def test_registries_are_separate_and_name_what_they_know() -> None:
    one = ProgramRegistry({PROGRAM_NAME: ScriptedProgram})
    other = ProgramRegistry()
    other.register("exploding", Exploding)
    assert one.names() == [PROGRAM_NAME] and other.names() == ["exploding"]
    assert isinstance(one.build(PROGRAM_NAME, {"conversation_id": "c", "topic": "t", "steps": []}), ScriptedProgram)
    with pytest.raises(ConfigError, match=r"No program named 'exploding'.*known: scripted"):
        one.factory("exploding")
    with pytest.raises(ConfigError, match="non-empty string"):
        other.register("", Exploding)


def test_the_cli_builds_the_registry_from_the_agent_and_the_named_hooks() -> None:
    programs = _programs_for(str(CONTOSO), ["durable.programs_for_tests:hook"])
    assert programs.names() == sorted(["exploding", TOPIC_PROGRAM])
    # a production worker runs only the agent's topics; the scripted program only when asked for
    assert _programs_for(str(CONTOSO), []).names() == [TOPIC_PROGRAM]
    assert _programs_for(str(CONTOSO), [INSTALL]).names() == sorted([PROGRAM_NAME, TOPIC_PROGRAM])


@pytest.mark.parametrize(
    ("hook", "says"),
    [
        ("durable.no_such_module:hook", "Could not import the program hook"),
        ("durable.programs_for_tests:no_such_function", "does not exist"),
        ("durable.programs_for_tests", "does not exist"),
    ],
)
def test_a_bad_hook_is_refused_naming_it(hook: str, says: str) -> None:
    with pytest.raises(click.ClickException, match=says):
        _programs_for(str(CONTOSO), [hook])
