"""Opening the store creates DBOS's tables and ours (forward-only Alembic), in WAL mode on SQLite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from postcall.errors import ConfigError
from postcall.store import open_store, resolve_database_url
from postcall.store.migrate import VERSION_TABLE, current_revision, head_revision


def test_a_new_sqlite_file_is_created_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agent' / '.postcall' / 'postcall.db'}"
    with open_store(url) as store:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"conversations", "conversation_activities", "post_call_runs", "post_call_run_steps", "telemetry_events",
            "worker_heartbeats", VERSION_TABLE} <= tables
    assert {"workflow_status", "operation_outputs", "queues"} <= tables  # DBOS's, in the same file
    with open_store(url) as again:  # reopening is a no-op
        assert current_revision(again.engine) == head_revision()


def test_processes_opening_a_new_database_together_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = "import sys; from postcall.store import open_store; open_store(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    engine = sa.create_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_keeps_dbos_in_its_own_schema(pg_url: str) -> None:
    with open_store(pg_url) as store:
        with store.engine.connect() as conn:
            schemas = {
                r[0]: r[1]
                for r in conn.execute(
                    sa.text("SELECT table_name, table_schema FROM information_schema.tables WHERE table_name IN ('workflow_status', 'conversations')")
                )
            }
    assert schemas == {"workflow_status": "dbos", "conversations": "public"}


def test_database_url_resolution(tmp_path: Path) -> None:
    assert resolve_database_url(tmp_path, None, environ={}) == f"sqlite:///{tmp_path.resolve() / '.postcall' / 'postcall.db'}"
    assert resolve_database_url(tmp_path, None, environ={"POSTCALL_DATABASE_URL": "postgresql://u@h/db"}) == "postgresql://u@h/db"
    assert resolve_database_url(tmp_path, "sqlite:////x/y.db", environ={"POSTCALL_DATABASE_URL": "postgresql://u@h/db"}) == "sqlite:////x/y.db"
    with pytest.raises(ConfigError, match="Unsupported database URL"):
        resolve_database_url(tmp_path, "mysql://u:secret@h/db")
    with pytest.raises(ConfigError) as raised:
        resolve_database_url(tmp_path, "mysql://u:hunter2@h/db")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ConfigError, match="in-memory"):
        resolve_database_url(tmp_path, "sqlite://")
    with pytest.raises(ConfigError, match="names no database"):
        resolve_database_url(tmp_path, "postgresql://u@h")
