"""The conversation engine: a pure turn function, no I/O.

    engine = Engine(agent)
    state = engine.new_state("conv-1", now=now)
    result = engine.turn(state, activity, now=now)   # -> TurnResult(state, outputs, pending, end)
    result = engine.resume(result.state, action_result, now=now)   # after a backend action

Post-call topics: `select_post_call_topics(agent, end_snapshot)` and `PostCallProgram`.
"""

from postcall.engine.ending import EndRecord, TransferDetail
from postcall.engine.engine import Engine, TurnResult
from postcall.engine.faults import LogEntry, RuntimeFault
from postcall.engine.postcall import (
    PostCallProgram,
    explain_post_call_selection,
    select_post_call_topics,
)
from postcall.engine.recognizer import (
    Decision,
    IntentCandidate,
    IntentMatch,
    PhraseRecognizer,
    Recognition,
    Recognizer,
)
from postcall.engine.selection import state_from_snapshot
from postcall.engine.state import ConversationState, EndSnapshot

__all__ = [
    "ConversationState",
    "Decision",
    "EndRecord",
    "EndSnapshot",
    "Engine",
    "IntentCandidate",
    "IntentMatch",
    "LogEntry",
    "PhraseRecognizer",
    "PostCallProgram",
    "Recognition",
    "Recognizer",
    "RuntimeFault",
    "TransferDetail",
    "TurnResult",
    "explain_post_call_selection",
    "select_post_call_topics",
    "state_from_snapshot",
]
