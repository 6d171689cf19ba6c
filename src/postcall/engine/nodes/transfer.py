"""TransferConversationV2 / TransferConversation: hand the call to a number or a contact center.

The node asks the channel to transfer (a `Transfer` output) and the conversation waits for the
channel's TRANSFER_RESULT event.  `answered` ends the conversation (BLIND_TRANSFER for a phone
number, CCAAS_TRANSFER for an agent); busy, no-answer, failed or canceled give control back to
the agent: the topic goes on after the transfer node, with System.Transfer.* describing what
happened.
"""

from __future__ import annotations

from typing import Any

from postcall.engine.activity import Transfer
from postcall.engine.activity import TransferToAgent as AgentTarget
from postcall.engine.activity import TransferToPhoneNumber as PhoneTarget
from postcall.engine.ending import TransferDetail
from postcall.engine.faults import RUN_VALUE
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.nodes.messages import message_output
from postcall.engine.state import Frame
from postcall.engine.values import to_plain
from postcall.topics.model import (
    Message,
    TransferConversation,
    TransferToAgent,
    TransferToPhoneNumber,
)

SIP_UUI_MAX = 128


def _phone_target(r: Runner, frame: Frame, node_id: str, t: TransferToPhoneNumber) -> PhoneTarget:
    number = (r.eval_text(t.phone_number, frame, node=node_id, what="phoneNumber") or "").strip()
    if not number:
        raise r.fault(
            f"Transfer {node_id!r} has an empty phone number.", code=RUN_VALUE,
            error_code="InvalidValue", frame=frame, node=node_id, span=t.phone_number.span,
        )
    uui = r.eval_text(t.sip_uui_header, frame, node=node_id, what="sipUuiHeader")
    if uui is not None and len(uui) > SIP_UUI_MAX:
        r.warn(f"sipUuiHeader truncated to {SIP_UUI_MAX} characters", frame, node_id)
        uui = uui[:SIP_UUI_MAX]
    headers = {
        name: r.eval_text(expr, frame, node=node_id, what=f"SIP header {name!r}") or ""
        for name, expr in t.sipx_headers
    }
    dtmf = r.eval_text(t.dtmf_sequence, frame, node=node_id, what="dtmfSequence")
    return PhoneTarget(phone_number=number, sip_uui_header=uui, sipx_headers=headers, dtmf_sequence=dtmf)


def _agent_target(r: Runner, frame: Frame, node_id: str, t: TransferToAgent) -> AgentTarget:
    message: str | None = None
    if isinstance(t.message_to_agent, Message):
        message = message_output(r, frame, t.message_to_agent, node_id).text
    context: dict[str, Any] = {}
    ctx = t.context
    if ctx is None or ctx.kind == "AutomaticTransferContext":
        variables = ctx.variables if ctx is not None else "All"
        if variables in ("All", "Global"):
            context["Global"] = {k: to_plain(v) for k, v in r.state.globals.items()}
        if variables in ("All", "Topic"):
            context["Topic"] = {k: to_plain(v) for k, v in frame.variables.items()}
    else:
        value = to_plain(r.eval(ctx.value, frame, node=node_id, what="transfer context"))
        context = value if isinstance(value, dict) else {"value": value}
    return AgentTarget(message_to_agent=message, context=context)


def run_transfer(r: Runner, frame: Frame, node: TransferConversation) -> Flow:
    if r.mode == "postcall":
        r.warn("Transfer skipped: the call has already ended.", frame, node.id)
        return Flow.NEXT
    kind = node.transfer_type
    target: PhoneTarget | AgentTarget
    if isinstance(kind, TransferToPhoneNumber):
        target = _phone_target(r, frame, node.id, kind)
        detail = TransferDetail("phone", target.phone_number, node.id, frame.topic, r.now,
                                target_detail={"sip_uui_header": target.sip_uui_header,
                                               "sipx_headers": dict(target.sipx_headers),
                                               "dtmf_sequence": target.dtmf_sequence})
    else:
        target = _agent_target(r, frame, node.id, kind)
        detail = TransferDetail("agent", "contact-center", node.id, frame.topic, r.now,
                                target_detail={"message_to_agent": target.message_to_agent})
    r.outputs.append(Transfer(target=target, node_id=node.id))
    r.state.transfer = detail
    count = r.state.system.get("Transfer.Count")
    r.state.system["Transfer.Count"] = (count if isinstance(count, int) else 0) + 1
    r.state.system["Transfer.Kind"] = detail.kind
    r.state.system["Transfer.Target"] = detail.target
    r.state.system["Transfer.Outcome"] = None
    r.state.system["Transfer.Raw"] = None
    r.info(f"transfer requested to {detail.target}", frame, node.id)
    frame.pc += 1  # a failed transfer continues after the node
    return Flow.TRANSFER
