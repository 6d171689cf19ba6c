"""Schema migrations, run at open: DBOS's system tables first, then ours through Alembic (forward-only).

Both back ends run the same Alembic scripts.  Concurrent openers are serialised (SQLite:
BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and DDL is transactional on
both, so two processes starting together never see half a schema.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from postcall.errors import StoreError
from postcall.store.database import printable_url
from postcall.store.dialects import dialect_of

VERSION_TABLE = "postcall_schema_version"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same in every process migrating this database.
_PG_MIGRATION_LOCK = 0x706F7374  # "post"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def migrate_dbos(url: str) -> None:
    """Create or upgrade DBOS's system tables in the database at `url`."""
    from dbos import DBOS

    try:
        DBOS.migrate(url)
    except Exception as exc:
        raise StoreError(f"Could not create DBOS's system tables in {printable_url(url)}: {exc}") from exc


def migrate_store(engine: sa.Engine) -> None:
    """Bring our tables to the newest revision (no-op when they are)."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    with engine.begin() as conn:
        dialect_of(conn).lock_migrations(conn, _PG_MIGRATION_LOCK)
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def migrate(engine: sa.Engine, url: str) -> None:
    """DBOS's tables, then ours.  Our engine connects first so that a new SQLite file is
    created in WAL mode before DBOS opens it."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    migrate_dbos(url)
    migrate_store(engine)
