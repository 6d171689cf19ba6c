from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.launcher import CrmProcess

_cases = itertools.count(1001)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    """The example CRM (examples/crm) as a real process with its own SQLite file."""
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=60) as process:
        yield process


@pytest.fixture
def case_number() -> int:
    """A case of the module's CRM that no other test of the module touches."""
    return next(_cases)
