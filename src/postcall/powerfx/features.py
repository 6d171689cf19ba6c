"""Which Power Fx language rules a formula is compiled with: one value, decided before compiling.

Microsoft's engine switches behaviour with `Features` (Features.cs: PowerFxV1CompatibilityRules,
StronglyTypedBuiltinEnums, FirstLastNRequiresSecondArguments...) and with parser flags
(TexlParser.Flags: EnableExpressionChaining, TextFirst, DisableReservedKeywords).  Copilot Studio
runs Power Fx V1 (`Features.PowerFxV1`), the default here and the only set topics use; the
other sets exist so that Microsoft's conformance files written for older hosts (Canvas apps
without the V1 rules) run as those hosts run them.

The set is read by the compiler and the function builders (`CallSite.features`) when a formula
is compiled, never per evaluation: a closure compiled for one set does not look at flags again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Features:
    """Power Fx language rules (Microsoft's names in the comments)."""

    # Features.cs
    table_syntax_doesnt_wrap_records: bool = True  # TableSyntaxDoesntWrapRecords
    consistent_one_column_table_result: bool = True  # ConsistentOneColumnTableResult
    disable_row_scope_disambiguation_syntax: bool = True  # DisableRowScopeDisambiguationSyntax
    support_column_names_as_identifiers: bool = True  # SupportColumnNamesAsIdentifiers
    strongly_typed_builtin_enums: bool = True  # StronglyTypedBuiltinEnums
    restricted_is_empty_arguments: bool = True  # RestrictedIsEmptyArguments
    first_last_n_requires_second_arguments: bool = True  # FirstLastNRequiresSecondArguments
    power_fx_v1_compatibility_rules: bool = True  # PowerFxV1CompatibilityRules
    primary_output_property_coercion_deprecated: bool = True  # PrimaryOutputPropertyCoercionDeprecated
    json_function_accepts_lazy_types: bool = True  # JsonFunctionAcceptsLazyTypes
    is_user_defined_types_enabled: bool = True  # IsUserDefinedTypesEnabled
    as_type_legacy_check: bool = False  # AsTypeLegacyCheck
    # TexlParser.Flags
    expression_chaining: bool = False  # EnableExpressionChaining: `a; b` runs a, then b
    text_first: bool = False  # TextFirst: the formula is text with ${...} holes
    reserved_keywords: bool = True  # off with DisableReservedKeywords

    @property
    def v1(self) -> bool:
        """Shorthand for the PowerFxV1CompatibilityRules switch the code reads most."""
        return self.power_fx_v1_compatibility_rules

    def with_setting(self, microsoft_name: str, enabled: bool) -> Features:
        """This set with one of Microsoft's feature or parser-flag names switched on or off."""
        attribute, inverted = MICROSOFT_NAMES[microsoft_name]
        return dataclasses.replace(self, **{attribute: enabled != inverted})


# Microsoft's name -> (attribute, whether the attribute is the name's negation).
MICROSOFT_NAMES: dict[str, tuple[str, bool]] = {
    "TableSyntaxDoesntWrapRecords": ("table_syntax_doesnt_wrap_records", False),
    "ConsistentOneColumnTableResult": ("consistent_one_column_table_result", False),
    "DisableRowScopeDisambiguationSyntax": ("disable_row_scope_disambiguation_syntax", False),
    "SupportColumnNamesAsIdentifiers": ("support_column_names_as_identifiers", False),
    "StronglyTypedBuiltinEnums": ("strongly_typed_builtin_enums", False),
    "RestrictedIsEmptyArguments": ("restricted_is_empty_arguments", False),
    "FirstLastNRequiresSecondArguments": ("first_last_n_requires_second_arguments", False),
    "PowerFxV1CompatibilityRules": ("power_fx_v1_compatibility_rules", False),
    "PrimaryOutputPropertyCoercionDeprecated": ("primary_output_property_coercion_deprecated", False),
    "JsonFunctionAcceptsLazyTypes": ("json_function_accepts_lazy_types", False),
    "IsUserDefinedTypesEnabled": ("is_user_defined_types_enabled", False),
    "AsTypeLegacyCheck": ("as_type_legacy_check", False),
    "EnableExpressionChaining": ("expression_chaining", False),
    "TextFirst": ("text_first", False),
    "DisableReservedKeywords": ("reserved_keywords", True),
}

# Features.PowerFxV1: what Copilot Studio runs, and the default everywhere.
POWER_FX_V1 = Features()

# `new Features()`: every feature off (Microsoft's Features.None), parser flags at their defaults.
NO_FEATURES = Features(**{
    attribute: False for name, (attribute, inverted) in MICROSOFT_NAMES.items() if not inverted
    and name not in ("EnableExpressionChaining", "TextFirst")
})

# Canvas apps today (FileExpressionEvaluationTests.Canvas_Float): the V1 rules off.
CANVAS = dataclasses.replace(
    NO_FEATURES, table_syntax_doesnt_wrap_records=True, consistent_one_column_table_result=True,
    is_user_defined_types_enabled=True,
)
CANVAS_V1 = dataclasses.replace(CANVAS, power_fx_v1_compatibility_rules=True)
