"""Which database, and how to connect: URL resolution and checks; each back end's engine (SQLite
pragmas and write gate, PostgreSQL's driver) is built by its strategy in dialects.py.

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

import sqlalchemy as sa

from postcall.errors import ConfigError
from postcall.store.dialects import (
    dialect_for_url,
    dialect_named,
    dialect_of,
    known_dialect,
)

ENV_VAR = "POSTCALL_DATABASE_URL"
DEFAULT_DIR = ".postcall"
DEFAULT_FILE = "postcall.db"


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
    dialect = known_dialect(parsed.get_backend_name())
    if dialect is None:
        raise ConfigError(
            f"Unsupported database URL {printable_url(url)!r}: use sqlite:///path/to/file.db or postgresql://user@host/db."
        )
    dialect.check_url(parsed, printable_url(url))


def printable_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def is_sqlite(url: str) -> bool:
    """Whether the URL names SQLite's one-writer file (see `dialects.Dialect.single_writer`)."""
    return dialect_for_url(url).single_writer


def sqlalchemy_url(url: str) -> sa.URL:
    """The URL SQLAlchemy should use (PostgreSQL always through psycopg 3: `dialects.py`)."""
    parsed = sa.make_url(url)
    return dialect_named(parsed.get_backend_name()).driver_url(parsed)


def create_engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """An engine for `url`; a SQLite file (and its folder) is created in WAL mode if missing."""
    check_url(url)
    target = sqlalchemy_url(url)
    return dialect_named(target.get_backend_name()).create_engine(target, pool_size)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement.

    SQLite: BEGIN IMMEDIATE, so read-then-write sequences (check the conversation is live, then
    end it) are serialised across processes.  PostgreSQL: an ordinary transaction; callers lock
    rows with SELECT ... FOR UPDATE.
    """
    with engine.begin() as conn:
        dialect_of(conn).begin_write(conn)
        yield conn
