"""Provider statuses in words: what `child-leg:in-progress` or `no-answer` tells an operator.

The end record and the transfer results keep the provider's raw status (Twilio's CallStatus or
DialCallStatus, a transfer's second leg as `child-leg:<status>`, a call-events `reason`).  The
console shows it as recorded, with this sentence beside it, so nobody has to look it up.
"""

from __future__ import annotations

# Twilio's CallStatus / DialCallStatus values (twilio.com/docs/voice/api/call-resource#call-status-values).
_STATUS = {
    "queued": "the call is waiting to be placed",
    "initiated": "the call is being placed",
    "ringing": "the phone is ringing",
    "in-progress": "the call was answered and is connected",
    "answered": "the call was answered",
    "completed": "the call was answered and then ended normally",
    "busy": "the line was busy",
    "no-answer": "nobody answered before the ring timeout",
    "failed": "the call could not be placed (bad number, carrier or SIP error)",
    "canceled": "the call was hung up before it was answered",
}


def explain(raw: str | None) -> str | None:
    """One sentence for a raw provider status, None when there is nothing to explain."""
    if not raw:
        return None
    text = raw.strip().lower()
    if text.startswith("child-leg:"):
        status = text.split(":", 1)[1]
        meaning = _STATUS.get(status, f"status {status!r}")
        return (f"Twilio's status callback for the transfer's second leg (the dialled party's call): "
                f"{meaning}.")
    if text.startswith("redirect:") or text in ("no-target", "not-configured"):
        return "postcall had nothing Twilio could dial, so the transfer failed before dialling."
    if text in _STATUS:
        return f"Twilio's call status: {_STATUS[text]}."
    return None
