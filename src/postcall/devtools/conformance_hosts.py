"""The hosts Microsoft's expression tests set up (`#SETUP: OptionSetTestSetup`...), for the
conformance runner: the option sets and values a test file's formulas may name.

Microsoft's harness (PowerFxEvaluationTests.cs) defines them in C#; here they are built on the
engine's own option set model (postcall.powerfx.enums.OptionSet), the one any host uses (an
agent's closed lists are option sets of names with display names, like `OptionSet` below).

* `AllEnumsPlusTestEnumsSetup`: the built-in enums and eight test enums covering what no
  built-in enum has (Boolean backing values, every combination of permissions, two Color sets).
* `AllEnumsPlusTestOptionSetsSetup`: the same sets as a host's option sets: members named by
  their values ("1", "10") with display names (`TestYesNo.Yes` is the member "1").
* `OptionSetTestSetup`: two sets of names with display names, and two variables holding members.
* `OptionSetSortTestSetup`: a set and three tables with a column of its members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from postcall.devtools.conformance_functions import all_evaluated
from postcall.powerfx import types as T
from postcall.powerfx.coerce import to_boolean, to_color, to_number
from postcall.powerfx.enums import OptionSet
from postcall.powerfx.functions import FunctionSpec
from postcall.powerfx.signatures import Signature
from postcall.powerfx.types import FxType
from postcall.powerfx.values import Color, ErrorValue, Record, Table, Value


@dataclass(frozen=True)
class HostSetup:
    """What a case's setup adds to the engine: option sets (by name) and variables."""

    option_sets: Mapping[str, OptionSet] = field(default_factory=dict)
    scope: Mapping[str, Value] = field(default_factory=dict)


NO_HOST = HostSetup()

_BLUE_RAMP = {"Blue100": 0xFF0000FF, "Blue75": 0xFF3F3FFF, "Blue50": 0xFF7F7FFF, "Blue25": 0xFFBFBFFF, "Blue0": 0xFFFFFFFF}
_RED_RAMP = {"Red100": 0xFFFF0000, "Red75": 0xFFFF3F3F, "Red50": 0xFFFF7F7F, "Red25": 0xFFFFBFBF, "Red0": 0xFFFFFFFF}
_ROMAN = {"X": 10, "V": 5, "I": 1}


def _test_sets(*, as_option_sets: bool) -> dict[str, OptionSet]:
    """The eight test sets: (name, backing, members, permissions)."""
    specs: list[tuple[str, str, dict[str, object], dict[str, Any]]] = [
        ("TestYesNo", "Boolean", {"Yes": True, "No": False}, {"coerce_from_backing": True, "coerce_to_backing": True}),
        ("TestYeaNay", "Boolean", {"Yea": True, "Nay": False}, {"coerce_from_backing": True, "coerce_to_backing": True}),
        ("TestBooleanNoCoerce", "Boolean", {"SuperTrue": True, "SuperFalse": False}, {}),
        ("TestNumberCoerceTo", "Number", dict(_ROMAN), {"coerce_to_backing": True}),
        ("TestNumberCompareNumeric", "Number", dict(_ROMAN), {"compare_numeric": True}),
        ("TestNumberCompareNumericCoerceFrom", "Number", dict(_ROMAN), {"compare_numeric": True, "coerce_from_backing": True}),
        ("TestBlueRamp", "Color", dict(_BLUE_RAMP), {}),
        ("TestRedRamp", "Color", dict(_RED_RAMP), {}),
    ]
    sets: dict[str, OptionSet] = {}
    for name, backing, members, permissions in specs:
        if as_option_sets:
            # A host's option set names a member by its value and shows the label.
            by_value = {_value_name(value): value for value in members.values()}
            labels = {_value_name(value): label for label, value in members.items()}
            sets[name] = OptionSet(name, backing, by_value, display_names=labels, **permissions)
        else:
            if backing == "Number":
                members = {**members, "V2": 5}  # same value as V: compared by value, not label
            sets[name] = OptionSet(name, backing, members, enum=True, **permissions)
    return sets


def _value_name(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _named(name: str, labels: Mapping[str, str]) -> OptionSet:
    """A set of names with display names (a Dataverse choice, a closed list)."""
    return OptionSet(name, "Text", {logical: None for logical in labels}, display_names=labels)


def _option_set_test() -> HostSetup:
    main = _named("OptionSet", {
        "option_1": "Option1", "option_2": "Option2", "option-3": "Option-3", "Is": "Option IS",
        "Self": "Option SELF", "is": "Option is low case", "self": "Option self low case",
    })
    other = _named("OtherOptionSet", {"99": "OptionA", "112": "OptionB", "35694": "OptionC", "123412983": "OptionD"})
    scope: dict[str, Value] = {
        "TopOptionSetField": main.member("option_1"),
        "Nested": Record({"InnerOtherOptionSet": other.member("123412983")}),
    }
    return HostSetup({"OptionSet": main, "OtherOptionSet": other}, scope)


def _option_set_sort_test() -> HostSetup:
    options = _named("OptionSet", {"option_1": "Option1", "option_2": "Option2"})
    one, two = options.member("option_1"), options.member("option_2")
    rows = [
        Record({"OptionSetField1": one, "StrField1": "test1"}),
        Record({"OptionSetField1": two, "StrField1": "test2"}),
        Record({"OptionSetField1": one, "StrField1": "test3"}),
        Record({"OptionSetField1": two, "StrField1": "test4"}),
        Record({"StrField1": "test5"}),
    ]
    columns = ("OptionSetField1", "StrField1")
    scope: dict[str, Value] = {
        "t1": Table(rows[:2], columns),
        "t2": Table(rows[:4], columns),
        "t3": Table([rows[0], rows[1], rows[2], rows[4], rows[3]], columns),
    }
    return HostSetup({"OptionSet": options}, scope)


_HOSTS: dict[str, HostSetup] = {
    "AllEnumsPlusTestEnumsSetup": HostSetup(_test_sets(as_option_sets=False)),
    "AllEnumsPlusTestOptionSetsSetup": HostSetup(_test_sets(as_option_sets=True)),
    "OptionSetTestSetup": _option_set_test(),
    "OptionSetSortTestSetup": _option_set_sort_test(),
}

HOST_SETUPS = frozenset(_HOSTS)


def host_setup(setup: Mapping[str, bool]) -> HostSetup:
    """The host a case's effective `#SETUP` asks for (the first test host it names)."""
    for name, enabled in setup.items():
        if enabled and name in _HOSTS:
            return _HOSTS[name]
    return NO_HOST


# --- the test hosts' functions --------------------------------------------------------------
# Functions Microsoft's harness adds with the enum setups (ReflectionFunctions in
# PowerFxEvaluationTests.cs): a parameter of a Boolean or Color option set, to test how
# arguments of such sets are checked.  With StronglyTypedBuiltinEnums off they take the backing
# kind instead.


def _host_function(name: str, params: tuple[str, ...], result: FxType, body: Callable[[list[Value]], Value]) -> FunctionSpec:
    build = all_evaluated(lambda frame, site, values: body(values))
    return FunctionSpec(name, len(params), len(params), build, signature=Signature(params, None, result))


def _xor(values: list[Value]) -> Value:
    a, b = (to_boolean(v) for v in values)
    if isinstance(a, ErrorValue):
        return a
    if isinstance(b, ErrorValue):
        return b
    return a != b


def _invert(values: list[Value]) -> Value:
    color = to_color(values[0])
    if isinstance(color, ErrorValue):
        return color
    return Color(color.r ^ 0xFF, color.g ^ 0xFF, color.b ^ 0xFF, color.a)


def _sign(decimal_result: bool) -> Callable[[list[Value]], Value]:
    def sign(values: list[Value]) -> Value:
        number = to_number(values[0])
        if isinstance(number, ErrorValue):
            return number
        result = float((number > 0) - (number < 0))
        return Decimal(int(result)) if decimal_result else result

    return sign


def host_test_functions(setup: Mapping[str, bool], strongly_typed_enums: bool) -> dict[str, FunctionSpec]:
    """The functions the enum setups add (none for other setups)."""
    if not any(setup.get(name, False) for name in ("AllEnumsSetup", "AllEnumsPlusTestEnumsSetup", "AllEnumsPlusTestOptionSetsSetup")):
        return {}
    yes_no = "Enum:TestYesNo" if strongly_typed_enums else "Boolean"
    no_coerce = "Enum:TestBooleanNoCoerce" if strongly_typed_enums else "Boolean"
    ramp = "Enum:TestBlueRamp" if strongly_typed_enums else "Color"
    specs = [
        _host_function("TestXORBoolean", ("Boolean", "Boolean"), T.BOOLEAN, _xor),
        _host_function("TestXORYesNo", (yes_no, yes_no), T.BOOLEAN, _xor),
        _host_function("TestColorInvert", ("Color",), T.COLOR, _invert),
        _host_function("TestColorBlueRampInvert", (ramp,), T.COLOR, _invert),
    ]
    if not setup.get("AllEnumsSetup", False):
        specs += [
            _host_function("TestXORNoCoerce", (no_coerce, no_coerce), T.BOOLEAN, _xor),
            _host_function("TestSignNumber", ("Number",), T.NUMBER, _sign(False)),
            _host_function("TestSignDecimal", ("Number",), T.NUMBER, _sign(True)),
        ]
    return {spec.name: spec for spec in specs}
