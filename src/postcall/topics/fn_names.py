"""Names of Power Fx functions (Microsoft's formula reference), implemented here or not.

A formula calling a name in this set that the runtime does not implement is a warning (it loads;
evaluating it fails); a name outside it is an error (a misspelling, or not Power Fx at all).
"""

from __future__ import annotations

POWER_FX_FUNCTIONS: frozenset[str] = frozenset(
    """
    Abs Acceleration Acos Acot AddColumns AIClassify AIExtract AIReply AISentiment AISummarize
    AITranslate And App Asin Assert AsType Atan Atan2 Average Back Blank Boolean Calendar Char
    Choices Clear ClearCollect ClearData Clock Coalesce Collect Color ColorFade ColorValue Column
    ColumnNames Concat Concatenate Concurrent Confirm Copy Cos Cot Count CountA CountIf CountRows
    DataSourceInfo Date DateAdd DateDiff DateTime DateTimeFormat DateTimeValue DateValue Day
    Dec2Hex Decimal Defaults Degrees Disable Distinct Download DropColumns EDate EncodeHTML
    EncodeUrl EndsWith EOMonth Enable Error Errors Exit Exp Filter Find First FirstN Float ForAll
    GroupBy GUID HashTags Hex2Dec Hour If IfError Index Int IsBlank IsBlankOrError IsEmpty IsError
    IsMatch IsNumeric ISOWeekNum IsToday IsType IsUTCToday JSON Language Last LastN Launch Left
    Len Ln LoadData Location Log LookUp Lower Match MatchAll Max Mid Min Minute Mod Month Navigate
    Not Notify Now Or Param Parent ParseJSON Patch Pi PlainText Power Print Proper Radians Rand
    RandBetween ReadNFC RecordInfo Refresh Relate Remove RemoveIf RenameColumns Replace Rept
    RequestHide Reset ResetForm Revert RGBA Right Round RoundDown RoundUp SaveData Search Second
    Select Self Sequence Set SetFocus SetProperty ShowColumns Shuffle Sign Sin Sort SortByColumns Split
    Sqrt StartsWith StdevP SubmitForm Substitute Sum Summarize Switch Table Tan Text Time
    TimeValue TimeZoneOffset Today Trace Trim TrimEnds Trunc Type UniChar Unrelate Update
    UpdateContext UpdateIf Upper User UTCNow UTCToday Validate Value VarP ViewForm Weekday WeekNum
    With Year
    """.split()
)
