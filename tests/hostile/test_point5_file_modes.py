"""Point 5 of issue 16: `.postcall/` and what is in it are private (0700 and 0600), fixed at start.

It used to be 0755 with `postcall.db`, `-wal` and `-shm` 0644, though they hold transcripts,
variables and secrets.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from structlog.testing import capture_logs

from hostile.world import copy_agent
from postcall.lifecycle.runtime import open_runtime, resolve_secret


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_point5_new_data_folder_is_0700_and_files_0600(tmp_path: Path) -> None:
    os.umask(0o022)
    agent = copy_agent(tmp_path)
    runtime = open_runtime(agent)
    try:
        runtime.store.create_conversation("c1", agent="a", channel="events")  # the WAL is written
        resolve_secret(runtime.settings.data_dir, "events_secret", "POSTCALL_TEST_UNSET_VAR", None)
        data = agent / ".postcall"
        names = {p.name: _mode(p) for p in data.iterdir()}
    finally:
        runtime.close()
    assert _mode(data) == 0o700
    assert {"postcall.db", "postcall.db-wal", "postcall.db-shm", "events_secret"} <= set(names)
    assert set(names.values()) == {0o600}, names


def test_point5_open_files_are_fixed_at_start_with_a_log_line(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path)
    data = agent / ".postcall"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    for name in ("postcall.db", "postcall.db-wal", "postcall.db-shm", "twilio_auth_token"):
        (data / name).write_bytes(b"")
        os.chmod(data / name, 0o644)
    (data / "postcall.db").unlink()  # a real database file, made by an older postcall
    old = open_runtime(agent)
    old.close()
    os.chmod(data, 0o755)
    for path in data.iterdir():
        os.chmod(path, 0o644)

    with capture_logs() as logs:
        runtime = open_runtime(agent)
        runtime.close()

    assert _mode(data) == 0o700
    assert {p.name: _mode(p) for p in data.iterdir() if _mode(p) != 0o600} == {}
    fixed = {Path(e["path"]).name: (e["was"], e["now"]) for e in logs if e["event"] == "file_mode_fixed"}
    assert fixed[".postcall"] == ("0755", "0700")
    assert fixed["postcall.db"] == ("0644", "0600")
    assert fixed["twilio_auth_token"] == ("0644", "0600")
