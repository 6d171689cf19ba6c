"""The turn writer: writes that queue up share one transaction; a failing one fails only its caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postcall.lifecycle.writer import TurnWriter
from postcall.store import NewActivity, Store, TurnBatch, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'postcall.sqlite'}") as opened:
        yield opened


def _create(cid: str) -> Callable[[TurnBatch], bool]:
    def fn(batch: TurnBatch) -> bool:
        return batch.create_conversation(cid, agent="a", channel="test")

    return fn


def _append(cid: str, text: str, gate: threading.Event | None = None) -> Callable[[TurnBatch], int]:
    def fn(batch: TurnBatch) -> int:
        if gate is not None:
            assert gate.wait(10)
        turn = batch.turn(cid)
        turn.save({"last": text}, [NewActivity("in", "message", {"text": text})])
        return id(batch)

    return fn


def test_queued_writes_share_one_transaction(store: Store) -> None:
    writer = TurnWriter(store)
    gate = threading.Event()

    async def main() -> list[int]:
        await asyncio.gather(*(writer.write(f"c{i}", _create(f"c{i}")) for i in range(6)))
        first = asyncio.ensure_future(writer.write("c0", _append("c0", "first", gate)))
        await asyncio.sleep(0)  # the writer thread takes it and waits on the gate
        rest = [asyncio.ensure_future(writer.write(f"c{i}", _append(f"c{i}", f"m{i}"))) for i in range(1, 6)]
        asyncio.get_running_loop().call_later(0.2, gate.set)
        return [await first, *[await r for r in rest]]

    try:
        batches = asyncio.run(main())
    finally:
        writer.close()
    assert len(set(batches[1:])) == 1  # the five that queued behind the first went in one transaction
    for i in range(1, 6):
        conv = store.get_conversation(f"c{i}")
        assert conv is not None and conv.state == {"last": f"m{i}"}


def test_a_failing_write_fails_only_its_caller(store: Store) -> None:
    writer = TurnWriter(store)
    gate = threading.Event()

    def failing(batch: TurnBatch) -> None:
        batch.turn("x1").save({"half": "written"})
        raise ValueError("this write fails")

    async def main() -> list[object]:
        for cid in ("x0", "x1", "x2"):
            await writer.write(cid, _create(cid))
        blocker = asyncio.ensure_future(writer.write("x0", _append("x0", "held", gate)))
        await asyncio.sleep(0)
        bad = asyncio.ensure_future(writer.write("x1", failing))
        good = asyncio.ensure_future(writer.write("x2", _append("x2", "kept")))
        asyncio.get_running_loop().call_later(0.2, gate.set)
        return list(await asyncio.gather(blocker, bad, good, return_exceptions=True))

    try:
        results = asyncio.run(main())
    finally:
        writer.close()
    assert isinstance(results[1], ValueError)
    assert not isinstance(results[2], BaseException)
    x1, x2 = store.get_conversation("x1"), store.get_conversation("x2")
    assert x1 is not None and x1.state is None  # nothing of the failed write stayed
    assert x2 is not None and x2.state == {"last": "kept"}


def test_writes_of_one_conversation_keep_their_order(store: Store) -> None:
    writer = TurnWriter(store)

    async def main() -> None:
        await writer.write("o", _create("o"))
        await asyncio.gather(*(writer.write("o", _append("o", f"m{i}")) for i in range(20)))

    try:
        asyncio.run(main())
    finally:
        writer.close()
    texts = [a.activity["text"] for a in store.history("o")]
    assert texts == [f"m{i}" for i in range(20)]
