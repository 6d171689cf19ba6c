from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from postcall.store import Store, open_store


@pytest.fixture(scope="module")
def pg_url(request: pytest.FixtureRequest) -> str:
    """One PostgreSQL database for the whole module (creating one per test is slow)."""
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"store_{uuid.uuid4().hex[:10]}"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{Path(tmp_path_factory.mktemp('store')) / 'postcall.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="module")
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
