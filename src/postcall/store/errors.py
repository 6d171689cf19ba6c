"""The store's own errors, all StoreError subclasses carrying the id they are about."""

from __future__ import annotations

from postcall.errors import StoreError


class ConversationNotFoundError(StoreError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"No conversation {conversation_id!r} in the store.")
        self.conversation_id = conversation_id


class ConversationExistsError(StoreError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"Conversation {conversation_id!r} already exists.")
        self.conversation_id = conversation_id


class ConcurrentTurnError(StoreError):
    """Another process saved a turn of this conversation since its state was read."""

    def __init__(self, conversation_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"Conversation {conversation_id!r} is at version {actual}, not {expected}: another turn was saved "
            "since this one read the state. Reload the state and run the turn again."
        )
        self.conversation_id = conversation_id
        self.expected = expected
        self.actual = actual


class RunNotFoundError(StoreError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"No post-call run {run_id!r} in the store.")
        self.run_id = run_id


class AmbiguousRunIdError(StoreError):
    def __init__(self, prefix: str, matches: list[str]) -> None:
        shown = ", ".join(repr(m) for m in matches[:3])
        super().__init__(f"The run id prefix {prefix!r} matches several runs ({shown}, ...); give more of the id.")
        self.prefix = prefix
        self.matches = matches


class RunNotRedrivableError(StoreError):
    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"Run {run_id!r} is {status}; only failed runs can be redriven.")
        self.run_id = run_id
        self.status = status
