"""An AdaptiveCardPrompt read aloud: the card's JSON becomes a VoiceForm of ordinary nodes.

A caller cannot see a card.  When the card is static JSON whose inputs a caller can say
(Input.Text, Number, Date, Time, Toggle, ChoiceSet), the card's text before the first input is
spoken, each input is asked as a Question (its label, the TextBlock just above it, or its
placeholder as the prompt) and stored in the variable the node's `output.binding` gives it, and
the Action.Submit's `data` is stored too (with several submit actions, the caller picks one by
name).  Anything else (a card built by a formula, an input kind with no spoken form) makes a
VoiceForm with `card_error` set: `postcall check` names the card, and at run time the node
leaves its outputs Blank and the call goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from postcall.diagnostics import SourceSpan, TextOrigin
from postcall.powerfx import parse_formula
from postcall.topics.model import (
    ClosedListEntity,
    ClosedListItem,
    ConditionGroup,
    ConditionItem,
    Entity,
    Expr,
    Message,
    Node,
    OutputBinding,
    PrebuiltEntity,
    Question,
    SendActivity,
    SetVariable,
    TextTemplate,
    VariableRef,
    VoiceForm,
)

_INPUT_ENTITIES = {
    "Input.Text": "StringPrebuiltEntity",
    "Input.Number": "NumberPrebuiltEntity",
    "Input.Date": "DatePrebuiltEntity",
    "Input.Time": "DateTimePrebuiltEntity",
    "Input.Toggle": "BooleanPrebuiltEntity",
}
_TEXT_STYLES = {"email": "EmailPrebuiltEntity", "tel": "PhoneNumberPrebuiltEntity"}


def _elements(items: Any) -> Iterator[dict[str, Any]]:
    """Card elements in reading order (containers, column sets and columns opened)."""
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in ("Container", "Column"):
            yield from _elements(item.get("items"))
        elif kind == "ColumnSet":
            for column in item.get("columns") or ():
                if isinstance(column, dict):
                    yield from _elements(column.get("items"))
        else:
            yield item


def _text(element: dict[str, Any]) -> str | None:
    kind = element.get("type")
    if kind == "TextBlock" and isinstance(element.get("text"), str):
        return element["text"].strip() or None
    if kind == "RichTextBlock":
        parts = [i.get("text", "") if isinstance(i, dict) else str(i) for i in element.get("inlines") or ()]
        return " ".join(p for p in parts if p).strip() or None
    if kind == "FactSet":
        facts = [f"{f.get('title', '')} {f.get('value', '')}".strip() for f in element.get("facts") or () if isinstance(f, dict)]
        return ". ".join(f for f in facts if f) or None
    return None


def _message(text: str, span: SourceSpan) -> Message:
    return Message(text=(TextTemplate(text.replace("{", "(").replace("}", ")"), span),), span=span)


def _formula(text: str, span: SourceSpan) -> Expr:
    origin = TextOrigin(span.path, span.line, span.column)
    return Expr("=" + text, span, parse_formula(text, origin).formula, None, origin)


def _submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    actions = [a for a in card.get("actions") or () if isinstance(a, dict)]
    for element in _elements(card.get("body")):
        if element.get("type") == "ActionSet":
            actions.extend(a for a in element.get("actions") or () if isinstance(a, dict))
    return [a for a in actions if a.get("type") in ("Action.Submit", "Action.Execute")]


def build_voice_form(
    node_id: str, card_text: str | None, outputs: tuple[OutputBinding, ...], span: SourceSpan,
    common: dict[str, Any],
) -> VoiceForm:
    """The VoiceForm of an AdaptiveCardPrompt (see the module docstring)."""
    def failed(why: str) -> VoiceForm:
        return VoiceForm(actions=(), card_error=why, **common)

    if card_text is None:
        return failed("it has no card")
    if card_text.lstrip().startswith("="):
        return failed("its card is built by a formula at run time, so its inputs are not known ahead")
    try:
        card = json.loads(card_text)
    except ValueError as exc:
        return failed(f"its card is not valid JSON ({exc})")
    if not isinstance(card, dict):
        return failed("its card is not a JSON object")
    bound = {b.name: b.variable for b in outputs}

    def variable(name: str) -> VariableRef:
        return bound.get(name) or VariableRef("Topic", name, True, span)

    nodes: list[Node] = []
    intro: list[str] = []
    pending_label: str | None = None
    asked = 0
    for element in _elements(card.get("body")):
        kind = str(element.get("type") or "")
        text = _text(element)
        if text is not None:
            if asked == 0 and pending_label is not None:
                intro.append(pending_label)
            pending_label = text
            continue
        if not kind.startswith("Input."):
            continue
        input_id = element.get("id")
        if not isinstance(input_id, str) or not input_id:
            return failed(f"its {kind} has no id")
        if asked == 0 and intro:
            nodes.append(SendActivity(kind="SendActivity", id=f"{node_id}.intro", span=span, activity=_message(". ".join(intro), span)))
            intro = []
        prompt = element.get("label") or pending_label or element.get("placeholder") or input_id
        pending_label = None
        entity: Entity
        if kind == "Input.ChoiceSet":
            choices = [c for c in element.get("choices") or () if isinstance(c, dict)]
            if not choices:
                return failed(f"its Input.ChoiceSet '{input_id}' has no static choices")
            items = tuple(
                ClosedListItem(id=str(c.get("value", c.get("title", ""))), display_name=str(c.get("title", c.get("value", ""))), span=span)
                for c in choices
            )
            entity = ClosedListEntity(items=items, span=span)
            names = ", ".join(i.display_name for i in items[:-1])
            prompt = f"{prompt} {names} or {items[-1].display_name}?" if len(items) > 1 else str(prompt)
        elif kind in _INPUT_ENTITIES:
            name = _INPUT_ENTITIES[kind]
            if kind == "Input.Text" and str(element.get("style", "")).lower() in _TEXT_STYLES:
                name = _TEXT_STYLES[str(element["style"]).lower()]
            entity = PrebuiltEntity(name=name, span=span)
        else:
            return failed(f"its input '{input_id}' is an {kind}, which a caller cannot say")
        nodes.append(
            Question(
                kind="Question", id=f"{node_id}.{input_id}", span=span, variable=variable(input_id),
                prompt=_message(str(prompt), span), entity=entity,
                always_prompt=Expr("true", span, None, True),
            )
        )
        asked += 1
    if asked == 0:
        if pending_label is not None:
            intro.append(pending_label)
        if intro:
            nodes.append(SendActivity(kind="SendActivity", id=f"{node_id}.intro", span=span, activity=_message(". ".join(intro), span)))
    nodes.extend(_submit_nodes(node_id, _submits(card), bound, span))
    return VoiceForm(actions=tuple(nodes), **common)


def _data_nodes(prefix: str, action: dict[str, Any], bound: dict[str, VariableRef], span: SourceSpan) -> list[Node]:
    raw = action.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    values: dict[str, Any] = {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool))}
    if "actionSubmitId" in bound:
        values.setdefault("actionSubmitId", action.get("id") or action.get("title") or "submit")
    return [
        SetVariable(kind="SetVariable", id=f"{prefix}.{name}", span=span, variable=bound[name], value=Expr(json.dumps(value), span, None, value))
        for name, value in values.items()
        if name in bound
    ]


def _submit_nodes(node_id: str, submits: list[dict[str, Any]], bound: dict[str, VariableRef], span: SourceSpan) -> list[Node]:
    if not submits:
        return []
    if len(submits) == 1:
        return _data_nodes(f"{node_id}.submit", submits[0], bound, span)
    titles = [str(a.get("title") or a.get("id") or f"option {i + 1}") for i, a in enumerate(submits)]
    choice = VariableRef("Topic", f"{node_id.replace('.', '_')}_choice", True, span)
    items = tuple(ClosedListItem(id=t, display_name=t, span=span) for t in titles)
    question = Question(
        kind="Question", id=f"{node_id}.action", span=span, variable=choice,
        prompt=_message(f"Would you like to {', '.join(titles[:-1])} or {titles[-1]}?", span),
        entity=ClosedListEntity(items=items, span=span), always_prompt=Expr("true", span, None, True),
    )
    conditions = tuple(
        ConditionItem(
            id=f"{node_id}.action.{i}",
            condition=_formula(f"{choice.path} = {json.dumps(title)}", span),
            actions=tuple(_data_nodes(f"{node_id}.action.{i}", action, bound, span)),
            span=span,
        )
        for i, (title, action) in enumerate(zip(titles, submits, strict=True))
    )
    group = ConditionGroup(kind="ConditionGroup", id=f"{node_id}.actions", span=span, conditions=conditions)
    return [question, group]
