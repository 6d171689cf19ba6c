from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.launcher import CrmProcess


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=50) as process:
        yield process
