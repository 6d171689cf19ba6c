"""`postcall check` warns about what would make every model call or a knowledge search come to
nothing (review-12 #11): a model host outside allowed_hosts, a missing api_key_file, a
knowledgeSources name the agent does not have."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from postcall.cli.main import cli

KB = Path(__file__).resolve().parent / "agents" / "kb"


def _check(tmp_path: Path, model_yaml: str, monkeypatch: pytest.MonkeyPatch, *, unknown_source: bool = False) -> str:
    for name in ("POSTCALL_MODEL_BASE_URL", "POSTCALL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    with (root / "agent.yaml").open("a", encoding="utf-8") as f:
        f.write(model_yaml)
    if unknown_source:
        topic = root / "topics" / "Returns.topic.yaml"
        topic.write_text(topic.read_text(encoding="utf-8").replace("cr1_contoso.knowledge.policies",
                                                                   "cr1_contoso.knowledge.Pricing_x1Y"), encoding="utf-8")
    return CliRunner().invoke(cli, ["check", str(root)]).output


def test_a_model_host_outside_allowed_hosts_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _check(tmp_path, "model:\n  base_url: http://10.1.2.3:8000/v1\n  model: m\n", monkeypatch)
    assert "warning TPC251: model: the endpoint's host '10.1.2.3' (port 8000) is not in allowed_hosts" in out, out
    assert "hint: Add '10.1.2.3' (or '10.1.2.3:8000') to allowed_hosts." in out


def test_a_listed_model_host_and_an_existing_key_file_are_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "model_key"
    key.write_text("sk-test\n")
    out = _check(tmp_path, f"model:\n  base_url: http://127.0.0.1:8000/v1\n  model: m\n  api_key_file: {key}\n", monkeypatch)
    assert "TPC251" not in out and "KNW302" not in out, out


def test_a_missing_api_key_file_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _check(tmp_path, "model:\n  base_url: http://127.0.0.1:8000/v1\n  model: m\n  api_key_file: secrets/nope\n",
                 monkeypatch)
    assert "warning TPC251: model: api_key_file" in out and "secrets/nope' does not exist" in out, out


def test_an_unknown_knowledge_source_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _check(tmp_path, "", monkeypatch, unknown_source=True)
    assert "warning KNW302: SearchAndSummarizeContent 'quiet-search' searches knowledge source " \
           "'cr1_contoso.knowledge.Pricing_x1Y'" in out, out
    assert "hint: known sources: " in out and "policies" in out
