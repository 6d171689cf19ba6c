"""Misspelt names in formulas and message holes: unknown roots (TPC234), Env names (TPC235) and
System paths (TPC236), with "did you mean"; row-scope names are never reported."""

from __future__ import annotations

from pathlib import Path

from postcall.topics import load_agent, load_topic_text

FIXTURES = Path(__file__).parent / "fixtures"


def found(path: Path, **kwargs: object) -> list[tuple[str, int, int, str | None]]:
    result = load_agent(path, **kwargs)  # type: ignore[arg-type]
    return [
        (d.code, d.span.line, d.span.column, d.hint)
        for d in result.diagnostics
        if d.span is not None and d.code in ("TPC213", "TPC234", "TPC235", "TPC236")
    ]


def test_misspelt_roots_env_and_system_names_are_reported_with_a_suggestion() -> None:
    assert found(FIXTURES / "names_agent") == [
        ("TPC234", 5, 15, "did you mean 'System.FallbackCount'?"),
        ("TPC235", 10, 15, "did you mean 'Env.crm_BaseUrl'?"),
        ("TPC234", 13, 25, "did you mean 'Topic.Name'?"),
        ("TPC236", 13, 48, "did you mean 'System.Activity.Text'?"),
        ("TPC236", 17, 15, "did you mean 'Conversation.EndReason'?"),
        # The formula does not compile (unknown function) but its Topic reads are checked.
        ("TPC213", 21, 22, None),
    ]


def test_row_scopes_option_sets_and_system_paths_are_not_reported() -> None:
    result = load_agent(FIXTURES / "names_agent")
    clean = [d for d in result.diagnostics if d.span and "Clean" in d.span.path]
    assert clean == []


def test_env_given_on_the_command_line_is_known() -> None:
    codes = [c for c, *_ in found(FIXTURES / "names_agent", env_overrides={"crm_BaseURL": "x"})]
    assert "TPC235" not in codes


def test_a_single_file_has_no_env_to_compare_with() -> None:
    text = (FIXTURES / "names_agent" / "topics" / "Misspelt.topic.yaml").read_text()
    result = load_topic_text(text, "Misspelt.topic.yaml")
    codes = {d.code for d in result.diagnostics}
    assert "TPC235" not in codes and {"TPC234", "TPC236"} <= codes


def test_each_misspelling_is_reported_once_per_file() -> None:
    text = """kind: AdaptiveDialog
beginDialog:
  kind: OnConversationStart
  id: main
  actions:
    - kind: SendActivity
      id: a
      activity: "{Usr.Name} {Usr.Name} {usr}"
"""
    result = load_topic_text(text, "t.yaml")
    unknown = [d for d in result.diagnostics if d.code == "TPC234"]
    assert [(d.span.column if d.span else 0, d.hint) for d in unknown] == [
        (19, "did you mean 'User.Name'?"),
        (41, "did you mean 'User'?"),
    ]
    assert all(d.severity == "warning" for d in unknown)
