"""What differs between SQLite and PostgreSQL, in one place: one strategy object per back end.

Like DBOS's one system-database base class with a subclass per dialect, every query of the
store is written once against SQLAlchemy and asks `dialect_of(conn)` for the few things the
back ends do differently: which URLs are usable, the driver, how the engine is built (SQLite's
pragmas and write gate), the database's clock, INSERT ... ON CONFLICT DO NOTHING, row locks,
how a write transaction starts, how migrations are serialised, how times are stored, and
where the knowledge index lives.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from postcall.errors import ConfigError, StoreError
from postcall.files import secure_sqlite_file
from postcall.store.sqlite_gate import GatedConnection, gate_for

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Dialect:
    """The base: what a back end must say.  Instances are stateless singletons (`dialect_of`)."""

    name: ClassVar[str] = ""
    single_writer: ClassVar[bool] = False
    """One writer at a time (SQLite's file lock): the store serialises writes in the process,
    the turn writer batches turns (group commit), executors run fewer runs at once."""
    row_locks: ClassVar[bool] = True
    """SELECT ... FOR UPDATE locks the conversation's row (PostgreSQL); without row locks the
    write transaction itself holds the lock (SQLite's BEGIN IMMEDIATE)."""
    naive_utc_times: ClassVar[bool] = False
    """Times are stored without a zone (in UTC) because the back end has no zone-aware type."""
    knowledge_in_database: ClassVar[bool] = False
    """The knowledge index lives in this database (PostgreSQL full text, store/knowledge.py);
    otherwise it is an FTS5 file beside it (postcall/knowledge/index.py)."""

    def check_url(self, url: sa.URL, shown: str) -> None:
        """ConfigError unless `url` (shown as `shown`, its password hidden) names a usable database."""
        raise NotImplementedError

    def driver_url(self, url: sa.URL) -> sa.URL:
        """The URL SQLAlchemy should use (the driver this back end is run through)."""
        return url

    def create_engine(self, url: sa.URL, pool_size: int) -> sa.Engine:
        """An engine on `url` (already through `driver_url`)."""
        raise NotImplementedError

    def epoch(self) -> sa.ColumnElement[float]:
        """The database's clock in seconds since 1970 (hosts with skewed clocks agree on staleness)."""
        raise NotImplementedError

    def insert_ignoring(self, table: sa.Table, key: tuple[str, ...]) -> sa.Insert:
        """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key: a row comes back only if it was written."""
        return _insert_ignoring(self.name, table, key)

    def begin_write(self, conn: sa.Connection) -> None:
        """Called first in a write transaction (see `database.write_transaction`)."""

    def lock_migrations(self, conn: sa.Connection, key: int) -> None:
        """Serialise concurrent migrations of one database (several workers starting at once)."""
        raise NotImplementedError


class SQLite(Dialect):
    name = "sqlite"
    single_writer = True
    row_locks = False
    naive_utc_times = True

    def check_url(self, url: sa.URL, shown: str) -> None:
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                "The database URL must name a SQLite file (sqlite:///path/to/postcall.db); "
                "an in-memory database cannot be shared with the workers."
            )

    def create_engine(self, url: sa.URL, pool_size: int) -> sa.Engine:
        """A SQLite file (and its folder) is created private and in WAL mode if missing."""
        assert url.database is not None
        secure_sqlite_file(Path(url.database).expanduser())  # 0600 in a private folder (files.py)
        gate = gate_for(url.database, SQLITE_BUSY_TIMEOUT_MS / 1000)

        def connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.gate = gate  # writes take turns through the gate (sqlite_gate.py)
            _sqlite_connect(dbapi_conn, record)

        engine = sa.create_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=60,
            connect_args={"factory": GatedConnection},
        )
        sa.event.listen(engine, "connect", connect)
        return engine

    def epoch(self) -> sa.ColumnElement[float]:
        return sa.cast((sa.func.julianday("now") - 2440587.5) * 86400.0, sa.Float)

    def begin_write(self, conn: sa.Connection) -> None:
        # BEGIN IMMEDIATE: read-then-write sequences (check the conversation is live, then end
        # it) take the file's write lock up front and are serialised across processes.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock_migrations(self, conn: sa.Connection, key: int) -> None:
        self.begin_write(conn)


class PostgreSQL(Dialect):
    name = "postgresql"
    knowledge_in_database = True

    def check_url(self, url: sa.URL, shown: str) -> None:
        if not url.database:
            raise ConfigError(f"The PostgreSQL URL {shown!r} names no database.")

    def driver_url(self, url: sa.URL) -> sa.URL:
        return url.set(drivername="postgresql+psycopg")  # always psycopg 3

    def create_engine(self, url: sa.URL, pool_size: int) -> sa.Engine:
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_timeout=60)

    def epoch(self) -> sa.ColumnElement[float]:
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)

    def lock_migrations(self, conn: sa.Connection, key: int) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


_DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLite(), PostgreSQL())}


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


def known_dialect(name: str) -> Dialect | None:
    """The strategy of a back end by SQLAlchemy's dialect name, None for an unsupported one."""
    return _DIALECTS.get(name)


def dialect_named(name: str) -> Dialect:
    """The strategy of a back end by SQLAlchemy's dialect name; StoreError for any other."""
    found = _DIALECTS.get(name)
    if found is None:
        raise StoreError(f"Unsupported database back end {name!r}: postcall runs on SQLite and PostgreSQL.")
    return found


def dialect_of(conn: sa.Connection) -> Dialect:
    return dialect_named(conn.dialect.name)


def dialect_for_url(url: str) -> Dialect:
    return dialect_named(sa.make_url(url).get_backend_name())


@functools.cache
def _insert_ignoring(name: str, table: sa.Table, key: tuple[str, ...]) -> sa.Insert:
    # Built once per table and back end and given its values as parameters: building a
    # statement costs more Python than running it, and these run inside the write lock.
    module: Any = postgresql if name == "postgresql" else sqlite
    insert: sa.Insert = module.insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(
        *[table.c[column] for column in key]
    )
    return insert
