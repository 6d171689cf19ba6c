"""Point 9 of issue 16: no file outside the agent folder is read through a symbolic link.

`postcall check` used to follow a topic file that was a symlink to a file outside the agent
folder and print its content in its excerpts.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from hostile.world import copy_agent
from postcall.cli.main import cli
from postcall.topics import load_agent

SECRET = "hunter2-SHOULD-NOT-PRINT"


def _outside(tmp_path: Path, name: str, text: str) -> Path:
    target = tmp_path / "elsewhere" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def test_point9_topic_symlink_out_of_the_folder_is_refused_and_not_printed(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path)
    target = _outside(tmp_path, "leak.yaml", f"kind: AdaptiveDialog\nbeginDialog: {{kind: {SECRET}\n")
    os.symlink(target, agent / "topics" / "Leak.topic.yaml")
    result = load_agent(agent)
    refused = [d for d in result.diagnostics if d.code == "TPC221"]
    assert len(refused) == 1
    assert refused[0].span is not None and refused[0].span.path == "topics/Leak.topic.yaml"
    assert "outside the agent folder" in refused[0].message
    assert not any(SECRET in text for text in result.sources.values())

    out = CliRunner().invoke(cli, ["check", str(agent)])
    assert out.exit_code != 0
    assert "topics/Leak.topic.yaml" in out.output and "outside the agent folder" in out.output
    assert SECRET not in out.output


def test_point9_every_file_the_loader_reads_is_checked(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path)
    config = _outside(tmp_path, "agent.yaml", (agent / "agent.yaml").read_text(encoding="utf-8") + f"# {SECRET}\n")
    (agent / "agent.yaml").unlink()
    os.symlink(config, agent / "agent.yaml")
    (agent / "variables").mkdir()
    os.symlink(_outside(tmp_path, "var.yaml", f"# {SECRET}\n"), agent / "variables" / "Leak.yaml")
    folder = tmp_path / "elsewhere" / "more"
    folder.mkdir()
    (folder / "Extra.topic.yaml").write_text(f"# {SECRET}\n", encoding="utf-8")
    os.symlink(folder, agent / "topics" / "more")  # a folder link: each file in it is outside too
    inside = agent / "topics" / "Alias.topic.yaml"
    os.symlink(agent / "topics" / "Goodbye.topic.yaml", inside)  # a link within the folder is fine

    result = load_agent(agent)
    refused = sorted(d.span.path for d in result.diagnostics if d.code == "TPC221" and d.span is not None)
    assert refused == ["agent.yaml", "topics/more", "variables/Leak.yaml"]
    assert not any(SECRET in text for text in result.sources.values())
    assert "topics/Alias.topic.yaml" in result.sources
