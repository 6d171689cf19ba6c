"""Test helpers for agent authors: drive a conversation in-process and assert on it.

    from postcall.testing import Conversation
    conv = Conversation("path/to/agent")
    conv.start(); conv.say("billing"); conv.transfer_result("answered")
    assert conv.end.reason == "BLIND_TRANSFER"
"""

from postcall.actions.inprocess import ActionCall, InProcessActions
from postcall.testing.conversation import Conversation, PostCallRun, TranscriptLine, load

__all__ = [
    "ActionCall",
    "Conversation",
    "InProcessActions",
    "PostCallRun",
    "TranscriptLine",
    "load",
]
