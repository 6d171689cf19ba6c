from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.crm_server import CrmServer, running_crm


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with running_crm() as server:
        yield server
