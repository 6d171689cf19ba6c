"""The test hosts' option sets (devtools/conformance_hosts.py) run Microsoft's option set files."""

from __future__ import annotations

from pathlib import Path

from postcall.devtools.conformance import run_files


def test_option_set_setups_run_instead_of_skipping(tmp_path: Path) -> None:
    sets = tmp_path / "Sets.txt"
    sets.write_text(
        "#SETUP: OptionSetTestSetup\n\n"
        ">> OptionSet.'Option SELF'\nOptionSet.'Self'\n\n"
        ">> If(TopOptionSetField = OptionSet.Option1, \"success\", \"failure\")\n\"success\"\n\n"
        ">> Switch(Nested.InnerOtherOptionSet, OtherOptionSet.OptionA, 1, OtherOptionSet.OptionD, 4)\n4\n",
        encoding="utf-8",
    )
    enums = tmp_path / "Enums.txt"
    enums.write_text(
        "#SETUP: StronglyTypedBuiltinEnums,PowerFxV1CompatibilityRules,AllEnumsPlusTestEnumsSetup\n\n"
        ">> TestNumberCoerceTo.V = TestNumberCoerceTo.V2\ntrue\n\n"
        ">> TestYesNo.Yes && true\ntrue\n\n"
        ">> TestBooleanNoCoerce.SuperTrue && true\nErrors: Error 0-1: Invalid argument type.\n\n"
        ">> TestXORYesNo(TestYesNo.Yes, TestYesNo.No)\ntrue\n\n"
        ">> TestXORNoCoerce(TestBooleanNoCoerce.SuperTrue, true)\nErrors: Error 0-1: Invalid argument type.\n\n"
        ">> TestColorBlueRampInvert(TestBlueRamp.Blue50)\nRGBA(128,128,0,1)\n",
        encoding="utf-8",
    )
    as_sets = tmp_path / "AsSets.txt"
    as_sets.write_text(
        "#SETUP: StronglyTypedBuiltinEnums,PowerFxV1CompatibilityRules,AllEnumsPlusTestOptionSetsSetup\n\n"
        ">> Text(TestYesNo.Yes)\n\"Yes\"\n\n"
        ">> TestNumberCompareNumeric.X > TestNumberCompareNumeric.I\ntrue\n",
        encoding="utf-8",
    )
    sort = tmp_path / "Sort.txt"
    sort.write_text(
        "#SETUP: OptionSetSortTestSetup\n\n"
        ">> Sort(t1, OptionSetField1, SortOrder.Descending)\n"
        "Table({OptionSetField1:OptionSet.option_2,StrField1:\"test2\"},{OptionSetField1:OptionSet.option_1,StrField1:\"test1\"})\n",
        encoding="utf-8",
    )
    report = run_files([str(p) for p in (sets, enums, as_sets, sort)])
    failures = [(o.case.expression, o.actual, o.detail) for o in report.outcomes if o.status != "passed"]
    assert failures == []
    assert report.passed == 12
