"""Colors: RGBA, ColorValue, ColorFade (the Color option set is in enums.py)."""

from __future__ import annotations

import math

from postcall.powerfx.coerce import to_color, to_number, to_text
from postcall.powerfx.colors import parse_color
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import Color, ErrorValue, UntypedObject, Value


def _round_half_even(number: float) -> int:
    """.NET's Convert.ToInt32: to the nearest whole number, halves to even."""
    return round(number)


@eager("RGBA", 4, 4)
def _rgba(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """RGBA(red, green, blue, alpha): a color; components 0-255 (truncated), alpha 0-1."""
    numbers: list[float] = []
    for arg in args:
        number = to_number(arg)
        if isinstance(number, ErrorValue):
            return number
        numbers.append(float(number))
    red, green, blue, alpha = numbers
    parts: list[int] = []
    for component in (red, green, blue):
        if math.isnan(component) or not -1 < component < 256:
            return site.invalid("a color component must be between 0 and 255.")
        whole = int(component)
        if whole < 0:
            return site.invalid("a color component must be between 0 and 255.")
        parts.append(whole)
    if math.isnan(alpha) or not 0.0 <= alpha <= 1.0:
        return site.invalid("alpha must be between 0 and 1.")
    return Color(parts[0], parts[1], parts[2], _round_half_even(alpha * 255.0))


@eager("ColorValue", 1, 1)
def _color_value(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ColorValue(text): a color from its name ("Red", any case), "#rrggbb" or "#rrggbbaa"
    (from an untyped value only the "#" forms)."""
    if isinstance(args[0], UntypedObject):
        return None if args[0].raw is None else to_color(args[0])
    text = to_text(args[0])
    if isinstance(text, ErrorValue):
        return text
    if text == "":
        return None
    color = parse_color(text)
    if color is None:
        return site.invalid(f"{text!r} is not a color name or #rrggbb[aa].")
    return color


@eager("ColorFade", 2, 2)
@tabular
def _color_fade(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ColorFade(color, fade): towards white (fade > 0) or black (fade < 0), -1..1; alpha kept."""
    color = to_color(args[0])
    if isinstance(color, ErrorValue):
        return color
    fade = to_number(args[1])
    if isinstance(fade, ErrorValue):
        return fade
    delta = float(fade)
    if math.isnan(delta) or not -1.0 <= delta <= 1.0:
        return site.invalid("the fade must be between -1 and 1.")
    keep = 1 - abs(delta)
    target = (0.0 if delta < 0 else 255.0) * abs(delta)
    r, g, b = (math.floor(c * keep + target) for c in (color.r, color.g, color.b))
    return Color(r, g, b, color.a)
