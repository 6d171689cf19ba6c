"""Words shared by every layer: the values of System.Conversation.EndReason.

It sits at the bottom so that topics (validation) and the engine (runtime) agree without the
topics package importing the engine.  engine.activity.EndReason has the same values (a test keeps
them equal).
"""

from __future__ import annotations

KNOWN_END_REASONS: tuple[str, ...] = (
    "CUSTOMER_HANGUP",
    "BLIND_TRANSFER",
    "CCAAS_TRANSFER",
    "AGENT_HANGUP",
    "INACTIVITY_TIMEOUT",
    "MAX_DURATION",
    "CHANNEL_ERROR",
)
