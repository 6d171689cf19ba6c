"""Shared fixtures: a real PostgreSQL server started on 127.0.0.1 in a temporary folder."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, developers usually do not.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="postcall-pg-"))
        self.data = self.tmp / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
        os.chmod(self.tmp, 0o755)

    def start(self) -> None:
        run = subprocess.run
        run(
            _as_postgres_user(
                [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True, capture_output=True,
        )
        run(
            _as_postgres_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.tmp / "log"),
                 "-o", f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c max_connections=200 -c fsync=on",
                 "-w", "start"]
            ),
            check=True, capture_output=True,
        )

    def create_database(self, name: str) -> str:
        subprocess.run(
            _as_postgres_user(
                [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", "postgres", name]
            ),
            check=True, capture_output=True,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run must install Debian's postgresql.")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql).")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_db_counter = 0


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    global _db_counter
    _db_counter += 1
    return postgres_server.create_database(f"t{os.getpid()}_{_db_counter}")
