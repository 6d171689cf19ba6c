"""Small helpers shared by the store tests."""

from __future__ import annotations

import uuid


def new_id(prefix: str = "conv") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
