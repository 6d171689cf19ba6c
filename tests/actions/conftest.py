from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.launcher import CrmProcess


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    """The example CRM in its own process, 500 cases from 1001 (a real receiver of actions)."""
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=500) as process:
        yield process

