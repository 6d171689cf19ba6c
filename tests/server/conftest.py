"""A real server runtime for the admin side: the example agent, a SQLite store in tmp_path, the app."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette warns at import when httpx2 is absent; the plain httpx client is what we have.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from fastapi import FastAPI

from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.store import Store, open_store
from postcall.topics import LoadResult, load_agent
from server.world import CONTOSO, AssembledRuntime, Settings

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


@pytest.fixture(scope="session")
def contoso() -> LoadResult:
    return load_agent(CONTOSO)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'postcall.db'}")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def runtime(tmp_path: Path, store: Store, contoso: LoadResult) -> AssembledRuntime:
    return AssembledRuntime(
        agent=contoso.agent,
        diagnostics=list(contoso.diagnostics),
        store=store,
        settings=Settings(data_dir=tmp_path / "data"),
    )


@pytest.fixture
def app(runtime: AssembledRuntime, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv(TOKEN_ENV, ADMIN_TOKEN)
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """Authenticated with the admin token."""
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    """No token, no session."""
    with TestClient(app, follow_redirects=False) as c:
        yield c
