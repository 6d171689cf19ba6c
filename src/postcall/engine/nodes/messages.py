"""SendActivity and EmitEvent: what the agent says or sends to the channel."""

from __future__ import annotations

from postcall.engine.activity import ActivityType, EmitActivity, Say
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.state import Frame
from postcall.engine.values import to_plain
from postcall.topics.model import (
    ActivityTemplate,
    EmitEvent,
    EventActivity,
    Message,
    OtherActivity,
    SendActivity,
)

_ACTIVITY_TYPES = {t.name.replace("_", "").lower(): t for t in ActivityType}


def ssml_escape(text: str) -> str:
    """Text made inert inside SSML: `&`, `<` and `>` as entities (issue 16, point 7)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_output(r: Runner, frame: Frame | None, message: Message, node_id: str) -> Say:
    """A Message rendered: one text variant (and the matching speak variant), in rotation.

    The `speak` variant is SSML written by the author; what its holes put in it (the caller's
    words, a CRM's answer) is escaped, so `You said {text}` can never become a `<break>`.
    """
    variants = message.text or message.speak
    index = r.next_seq() % len(variants) if len(variants) > 1 else 0
    text = r.render(variants[index], frame, node=node_id) if variants else ""
    speak: str | None = None
    if message.speak:
        speak = r.render(message.speak[index % len(message.speak)], frame, node=node_id, escape=ssml_escape)
    return Say(text=text, speak=speak, allow_barge_in=message.allow_barge_in)


def emit(r: Runner, frame: Frame | None, activity: ActivityTemplate, node_id: str) -> None:
    """Send an activity template to the caller (Say) or the channel (EmitActivity)."""
    if isinstance(activity, Message):
        r.outputs.append(message_output(r, frame, activity, node_id))
    elif isinstance(activity, EventActivity):
        name = r.eval_text(activity.name, frame, node=node_id, what="event name")
        value = r.eval(activity.value, frame, node=node_id, what="event value")
        r.outputs.append(EmitActivity(ActivityType.EVENT, name=name, value=to_plain(value)))
    elif isinstance(activity, OtherActivity):
        kind = r.eval_text(activity.activity_type, frame, node=node_id, what="activity type") or ""
        name = r.eval_text(activity.name, frame, node=node_id, what="activity name")
        value = r.eval(activity.value, frame, node=node_id, what="activity value")
        activity_type = _ACTIVITY_TYPES.get(kind.replace("_", "").lower())
        if activity_type is None:
            # Types the vocabulary has no member for (delay, command...) go out as named events.
            activity_type, name = ActivityType.EVENT, name or kind
        r.outputs.append(EmitActivity(activity_type, name=name, value=to_plain(value)))


def run_send_activity(r: Runner, frame: Frame, node: SendActivity) -> Flow:
    if r.mode == "postcall":
        r.warn(
            "SendActivity skipped: the caller has gone, a post-call topic cannot send messages.",
            frame, node.id,
        )
        return Flow.NEXT
    emit(r, frame, node.activity, node.id)
    return Flow.NEXT


def run_emit_event(r: Runner, frame: Frame, node: EmitEvent) -> Flow:
    """Raise an event: topics with a matching OnEventActivity trigger handle it; otherwise (or
    with eventType Activity) it goes out to the channel as an event activity."""
    from postcall.engine.triggers import select_event

    name = r.eval_text(node.event_name, frame, node=node.id, what="event name") or ""
    value = r.eval(node.event_value, frame, node=node.id, what="event value")
    handlers = [t for t in select_event(r, name) if t.name != frame.topic]
    send_out = node.event_type == "Activity" or not handlers
    if node.event_type == "DialogEvent":
        send_out = False
    if send_out:
        if r.mode == "postcall":
            r.warn(f"EmitEvent {name!r} not sent: the caller has gone.", frame, node.id)
        else:
            r.outputs.append(EmitActivity(ActivityType.EVENT, name=name, value=to_plain(value)))
    if handlers:
        frame.pc += 1
        r.start_topics([(handlers[0], "event")])
        return Flow.STAY
    return Flow.NEXT
