"""The retention of agent.yaml applied to the store: what a purge keeps of a call's saved state.

The store deletes rows; only the lifecycle knows the shape of a saved conversation state.  A
purge of `variables` keeps what makes the conversation still an ended conversation (its id,
times, the end) and drops everything the caller said or the topics computed: variables of
every scope, the dialog stack, the pending action, the caller's id, the last activity and the
replies kept for repeated deliveries.  A late delivery after that still finds a conversation
that ended, and is recorded and ignored as before.
"""

from __future__ import annotations

from typing import Any

from postcall.lifecycle.watchdog import LIFECYCLE_KEY
from postcall.store import PurgeReport, RetentionDays, Store
from postcall.topics.config import Retention

KEPT = ("conversation_id", "agent", "started_at", "channel_id", "last_caller_at", "last_activity_at",
        "in_test_mode", "started", "end", "turns", "seq", "version", "inactivity_fired")  # fmt: skip


def scrub_state(saved: dict[str, Any]) -> dict[str, Any]:
    """The saved state without variables, stack, caller id, last activity or kept replies."""
    kept = {key: saved[key] for key in KEPT if key in saved}
    if "conversation_id" in kept:
        kept.update(globals={}, system={}, stack=[], pending=None, user_id=None, user_name=None,
                    activity=None, ignored=[], transfer=None, node_runs={})
    meta = saved.get(LIFECYCLE_KEY)
    if isinstance(meta, dict):
        kept[LIFECYCLE_KEY] = {"turn": meta.get("turn", 0)}
    return kept


def retention_days(retention: Retention) -> RetentionDays:
    return RetentionDays(
        transcripts=retention.transcripts_days,
        variables=retention.variables_days,
        request_bodies=retention.request_bodies_days,
        conversations=retention.conversations_days,
    )


def purge(store: Store, retention: Retention) -> PurgeReport:
    """One purge by the agent's retention (nothing when it keeps everything)."""
    if retention.keeps_everything:
        return PurgeReport()
    return store.purge(retention_days(retention), scrub=scrub_state)
