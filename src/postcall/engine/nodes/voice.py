"""Nodes written for a screen, run on a phone line (docs/compatibility.md, "Voice behaviour").

* AdaptiveCardPrompt: the loader turned the card into a VoiceForm whose nodes follow it; this
  handler only notes it (or, when the card could not be read aloud, that its outputs stay Blank).
* OAuthInput: a call cannot sign in; the caller hears so, System.SignInReason becomes
  SignInRequired and the topic goes on (System.User.IsLoggedIn stays false).
* CreateSearchQuery: without a model the search query is the caller's own words.
"""

from __future__ import annotations

from postcall.engine.interpreter import Flow, Runner
from postcall.engine.state import Frame
from postcall.topics.model import CreateSearchQuery, OAuthInput, VoiceForm


def run_voice_form(r: Runner, frame: Frame, node: VoiceForm) -> Flow:
    if node.card_error is not None:
        r.warn(f"AdaptiveCardPrompt {node.id!r} cannot be read aloud ({node.card_error}); its outputs stay Blank", frame, node.id)
    else:
        r.info(f"AdaptiveCardPrompt {node.id!r} asked as questions", frame, node.id)
    return Flow.NEXT


def run_oauth_input(r: Runner, frame: Frame, node: OAuthInput) -> Flow:
    r.state.system["SignInReason"] = "SignInRequired"
    r.say(OAuthInput.MESSAGE)
    r.warn(f"OAuthInput {node.id!r}: a phone line cannot sign in; continuing signed out", frame, node.id)
    return Flow.NEXT


def run_create_search_query(r: Runner, frame: Frame, node: CreateSearchQuery) -> Flow:
    if node.result is None:
        return Flow.NEXT
    query: object = None
    if node.user_input is not None:
        query = r.eval_text(node.user_input, frame, node=node.id, what="userInput")
    if query is None:
        activity = r.state.activity or {}
        query = activity.get("text") or r.state.system.get("LastMessage.Text")
    r.assign(node.result, query if isinstance(query, str) else None, frame)
    return Flow.NEXT
