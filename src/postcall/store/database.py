"""Which database, and how to connect: URL resolution, SQLite pragmas (WAL, busy timeout), PostgreSQL driver.

The URL comes from `--db URL`, else `POSTCALL_DATABASE_URL`, else a SQLite file
`<agent dir>/.postcall/postcall.db`.  SQLite is switched to WAL mode the first time the file
is opened, before DBOS ever touches it (DBOS would create it in rollback-journal mode), and
every connection to it passes the file's write gate (sqlite_gate.py): writers take turns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from postcall.errors import ConfigError
from postcall.files import secure_sqlite_file
from postcall.store.sqlite_gate import GatedConnection, gate_for

ENV_VAR = "POSTCALL_DATABASE_URL"
DEFAULT_DIR = ".postcall"
DEFAULT_FILE = "postcall.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def resolve_database_url(
    agent_dir: str | os.PathLike[str] | None = None,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """`url` if given, else $POSTCALL_DATABASE_URL, else sqlite:///<agent dir>/.postcall/postcall.db."""
    env = os.environ if environ is None else environ
    chosen = url or env.get(ENV_VAR) or None
    if chosen:
        check_url(chosen)
        return chosen
    base = Path(agent_dir) if agent_dir is not None else Path.cwd()
    if base.is_file():
        base = base.parent
    return f"sqlite:///{(base.resolve() / DEFAULT_DIR / DEFAULT_FILE)}"


def check_url(url: str) -> None:
    """ConfigError unless `url` is a sqlite:/// file URL or a postgresql:// URL naming a database."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"The database URL {printable_url(url)!r} is not a valid URL: {exc}.") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                "The database URL must name a SQLite file (sqlite:///path/to/postcall.db); "
                "an in-memory database cannot be shared with the workers."
            )
        return
    if backend == "postgresql":
        if not parsed.database:
            raise ConfigError(f"The PostgreSQL URL {printable_url(url)!r} names no database.")
        return
    raise ConfigError(
        f"Unsupported database URL {printable_url(url)!r}: use sqlite:///path/to/file.db or postgresql://user@host/db."
    )


def printable_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def is_sqlite(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def sqlalchemy_url(url: str) -> sa.URL:
    """The URL SQLAlchemy should use: PostgreSQL always through psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Like DBOS: the driver opens every write transaction with BEGIN IMMEDIATE, so a writer
    # takes the lock up front and never fails upgrading a read lock; reads stay lock-free.
    dbapi_conn.isolation_level = "IMMEDIATE"
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def create_engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """An engine for `url`; a SQLite file (and its folder) is created in WAL mode if missing."""
    check_url(url)
    target = sqlalchemy_url(url)
    if target.get_backend_name() == "sqlite":
        assert target.database is not None
        secure_sqlite_file(Path(target.database).expanduser())  # 0600 in a private folder (files.py)
        gate = gate_for(target.database, SQLITE_BUSY_TIMEOUT_MS / 1000)

        def connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.gate = gate  # writes take turns through the gate (sqlite_gate.py)
            _sqlite_connect(dbapi_conn, record)

        engine = sa.create_engine(
            target, pool_size=pool_size, max_overflow=pool_size, pool_timeout=60,
            connect_args={"factory": GatedConnection},
        )
        sa.event.listen(engine, "connect", connect)
        return engine
    return sa.create_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_timeout=60
    )


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement.

    SQLite: BEGIN IMMEDIATE, so read-then-write sequences (check the conversation is live, then
    end it) are serialised across processes.  PostgreSQL: an ordinary transaction; callers lock
    rows with SELECT ... FOR UPDATE.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
