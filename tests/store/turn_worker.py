"""A process that runs N turns on one conversation, for the interleaving tests.

Usage: python turn_worker.py URL CONVERSATION_ID TURNS WORKER_NAME (locked|optimistic)
"""

from __future__ import annotations

import sys

from postcall.store import ConcurrentTurnError, NewActivity, open_store


def main() -> None:
    url, conversation_id, turns, name, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    with open_store(url, pool_size=2) as store:
        for i in range(turns):
            if mode == "locked":
                with store.turn(conversation_id) as turn:
                    count = int((turn.conversation.state or {}).get("count", 0))
                    turn.save({"count": count + 1}, [NewActivity("in", "message", {"worker": name, "i": i, "count": count + 1})])
                continue
            while True:
                conversation = store.get_conversation(conversation_id)
                assert conversation is not None
                count = int((conversation.state or {}).get("count", 0))
                try:
                    store.save_turn(
                        conversation_id,
                        state={"count": count + 1},
                        activities=[NewActivity("in", "message", {"worker": name, "i": i, "count": count + 1})],
                        expected_version=conversation.version,
                    )
                    break
                except ConcurrentTurnError:
                    continue


if __name__ == "__main__":
    main()
