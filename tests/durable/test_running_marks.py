"""RunningMarks: a run is marked running once, only after its delay, and its outcome never lands before the mark."""

from __future__ import annotations

import threading

from postcall.durable.running import RunningMarks

WAIT_S = 10  # a bound for a test that would otherwise hang, not a synchronisation


def test_a_run_settled_before_its_delay_is_never_marked() -> None:
    marked: list[str] = []
    m = RunningMarks(lambda run_id: marked.append(run_id) or 1, after_s=3600)
    started = m.watch("run-1")
    assert started.tzinfo is not None
    assert m.settle("run-1") is None
    m.close()
    assert marked == []


def test_a_run_past_its_delay_is_marked_once_and_settle_returns_the_execution() -> None:
    marked: list[str] = []
    done = threading.Event()

    def mark(run_id: str) -> int:
        marked.append(run_id)
        done.set()
        return 7

    m = RunningMarks(mark, after_s=0)
    try:
        m.watch("run-2")
        assert done.wait(WAIT_S)
        assert m.settle("run-2") == 7
        assert m.settle("run-2") is None  # settled: nothing left to report
    finally:
        m.close()
    assert marked == ["run-2"]


def test_settle_waits_for_a_mark_being_written() -> None:
    writing, release = threading.Event(), threading.Event()
    order: list[str] = []

    def mark(run_id: str) -> int:
        order.append("mark started")
        writing.set()
        assert release.wait(WAIT_S)
        order.append("mark written")
        return 1

    m = RunningMarks(mark, after_s=0)
    result: list[int | None] = []
    try:
        m.watch("run-3")
        assert writing.wait(WAIT_S)
        settler = threading.Thread(target=lambda: result.append(m.settle("run-3")))
        settler.start()
        release.set()
        settler.join(WAIT_S)
        order.append("settled")
    finally:
        m.close()
    # Had settle not waited, it would have found no mark and returned None.
    assert result == [1]
    assert order == ["mark started", "mark written", "settled"]


def test_a_discarded_run_is_not_marked_and_a_mark_in_flight_is_forgotten() -> None:
    writing, release = threading.Event(), threading.Event()

    def mark(run_id: str) -> int:
        writing.set()
        assert release.wait(WAIT_S)
        return 1

    m = RunningMarks(mark, after_s=0)
    try:
        m.watch("run-4")
        assert writing.wait(WAIT_S)
        m.discard("run-4")
        release.set()
        m.close()  # joins the thread: the write has finished
        assert m.settle("run-4") is None
    finally:
        m.close()


def test_many_runs_each_marked_once() -> None:
    marked: list[str] = []
    lock = threading.Lock()
    all_done = threading.Event()
    ids = [f"run-{i}" for i in range(50)]

    def mark(run_id: str) -> int:
        with lock:
            marked.append(run_id)
            if len(marked) == len(ids):
                all_done.set()
        return 1

    m = RunningMarks(mark, after_s=0)
    try:
        for run_id in ids:
            m.watch(run_id)
        assert all_done.wait(WAIT_S)
        assert [m.settle(run_id) for run_id in ids] == [1] * len(ids)
    finally:
        m.close()
    assert sorted(marked) == sorted(ids)
