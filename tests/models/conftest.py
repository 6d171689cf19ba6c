from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.launcher import CrmProcess
from postcall.devtools.openai_server import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A real OpenAI-protocol HTTP server on 127.0.0.1 (key "sk-test")."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    """The example CRM in its own process (cases 1001-1020)."""
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=20) as process:
        yield process
