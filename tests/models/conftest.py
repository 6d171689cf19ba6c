from __future__ import annotations

from collections.abc import Iterator

import pytest

from postcall.devtools.openai_server import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A real OpenAI-protocol HTTP server on 127.0.0.1 (key "sk-test")."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server
