"""The SQLite write gate: writers take turns (threads and processes), reads pass, the turn ends with the transaction."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from postcall.store.database import create_engine
from postcall.store.sqlite_gate import GatedConnection, WriteGate, gate_for


def connect(path: Path, gate: WriteGate) -> GatedConnection:
    conn = sqlite3.connect(path, factory=GatedConnection, check_same_thread=False, isolation_level="IMMEDIATE")
    assert isinstance(conn, GatedConnection)
    conn.gate = gate
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gate.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (v INTEGER)")
    return path


def test_a_write_holds_the_gate_until_its_transaction_ends(db: Path) -> None:
    gate = WriteGate(str(db), timeout_s=0.2)
    first, second = connect(db, gate), connect(db, gate)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.execute("INSERT INTO t VALUES (2)")  # its turn does not come while the first writes
    assert second.execute("SELECT count(*) FROM t").fetchone() == (0,)  # reads pass the gate
    first.commit()
    second.execute("INSERT INTO t VALUES (2)")
    second.rollback()  # a rollback ends the turn too
    first.execute("INSERT INTO t VALUES (3)")
    first.close()  # and so does closing the connection
    second.execute("INSERT INTO t VALUES (4)")
    second.commit()
    assert sorted(v for (v,) in second.execute("SELECT v FROM t")) == [1, 4]


def test_a_failed_write_that_opened_no_transaction_gives_the_turn_back(db: Path) -> None:
    gate = WriteGate(str(db), timeout_s=0.2)
    conn = connect(db, gate)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        conn.execute("INSERT INTO missing VALUES (1)")
    other = connect(db, gate)
    other.execute("INSERT INTO t VALUES (1)")  # would time out if the failed statement kept the turn
    other.commit()


def test_threads_waiting_for_a_turn_all_write_once_it_passes(db: Path) -> None:
    gate = WriteGate(str(db), timeout_s=30)
    holder = connect(db, gate)
    holder.execute("INSERT INTO t VALUES (0)")
    started = threading.Barrier(5)
    errors: list[BaseException] = []

    def write(value: int) -> None:
        conn = connect(db, gate)
        started.wait()
        try:
            conn.execute("INSERT INTO t VALUES (?)", (value,))
            conn.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(v,)) for v in range(1, 5)]
    for thread in threads:
        thread.start()
    started.wait()
    holder.commit()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(v for (v,) in holder.execute("SELECT v FROM t")) == [0, 1, 2, 3, 4]


HOLDER = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa
    from postcall.store.database import create_engine
    engine = create_engine(sys.argv[1])
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (7)"))
        print("holding", flush=True)
        sys.stdin.readline()
        conn.commit()
    print("committed", flush=True)
    """
)


def test_processes_take_turns_through_the_lock_file(db: Path) -> None:
    url = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "holding"
        gate = WriteGate(str(db), timeout_s=0.2)  # this process's own gate on the same lock file
        conn = connect(db, gate)
        with pytest.raises(sqlite3.OperationalError, match="another process kept its turn"):
            conn.execute("INSERT INTO t VALUES (8)")
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "committed"
        conn.execute("INSERT INTO t VALUES (8)")
        conn.commit()
        assert sorted(v for (v,) in conn.execute("SELECT v FROM t")) == [7, 8]
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_writer_leaves_no_turn_behind(db: Path) -> None:
    url = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "holding"
    proc.kill()  # SIGKILL mid-transaction: the kernel drops its lock, SQLite rolls its write back
    proc.wait()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (9)")
        with engine.connect() as conn:
            assert [v for (v,) in conn.exec_driver_sql("SELECT v FROM t")] == [9]
    finally:
        engine.dispose()


def test_engines_of_one_file_share_one_gate_per_process(db: Path) -> None:
    assert gate_for(str(db), 30) is gate_for(str(db.parent / "." / db.name), 30)
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert isinstance(raw, GatedConnection) and raw.gate is gate_for(str(db), 30)
    finally:
        engine.dispose()
