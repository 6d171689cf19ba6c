#!/usr/bin/env python3
"""Fetch the public agent corpus (scripts/agent_corpus.json) for `postcall simulate` measurements.

Usage: .venv/bin/python scripts/fetch_agent_corpus.py [--dest DIR] [--mirror DIR]
  --dest DIR    where the agents go (default .cache/agent-corpus, ignored by git); one folder
                per agent, named as in the manifest, plus SOURCES.json (repo, commit, licence)
  --mirror DIR  read repositories from bare git directories DIR/<owner>+<name>/repo instead of
                cloning them (an offline copy); without it each repository is cloned with git

Each agent is taken at its pinned commit: a folder is copied as it is; a solution zip is
unpacked.  None of these files is committed to this repository (their licences differ and
several state none); the measurement is re-run on them by tests/simulate/test_corpus.py when
they are present.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "scripts" / "agent_corpus.json"
DEFAULT_DEST = REPO / ".cache" / "agent-corpus"


def git_dir(repo: str, mirror: Path | None, cache: Path) -> Path:
    if mirror is not None:
        found = mirror / repo.replace("/", "+") / "repo"
        if found.is_dir():
            return found
    target = cache / repo.replace("/", "+")
    if not target.is_dir():
        subprocess.run(
            ["git", "clone", "--bare", "--quiet", f"https://github.com/{repo}.git", str(target)],
            check=True,
        )
    return target


def materialise(gitdir: Path, commit: str, path: str, out: Path) -> None:
    if path.lower().endswith(".zip"):
        blob = subprocess.run(
            ["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"], check=True,
            capture_output=True,
        ).stdout
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            for member in archive.infolist():
                name = Path(member.filename)
                if member.is_dir() or name.is_absolute() or ".." in name.parts:
                    continue
                target = out / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
        return
    cmd = ["git", "--git-dir", str(gitdir), "archive", "--format=tar", commit]
    if path:
        cmd.append(path)
    tar = subprocess.run(cmd, check=True, capture_output=True).stdout
    strip = len(Path(path).parts) if path else 0
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts[strip:]
            if not member.isfile() or not parts or ".." in parts:
                continue
            source = archive.extractfile(member)
            if source is None:
                continue
            target = out.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--mirror", type=Path, default=None)
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    args.dest.mkdir(parents=True, exist_ok=True)
    sources = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="agent-corpus-") as tmp:
        for entry in manifest["agents"]:
            out = args.dest / entry["name"]
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            try:
                gitdir = git_dir(entry["repo"], args.mirror, Path(tmp))
                materialise(gitdir, entry["commit"], entry["path"], out)
            except (subprocess.CalledProcessError, zipfile.BadZipFile, OSError) as exc:
                failed += 1
                shutil.rmtree(out, ignore_errors=True)
                print(f"FAILED {entry['name']}: {exc}", file=sys.stderr)
                continue
            sources.append(entry)
            print(f"{entry['name']}: {entry['repo']}@{entry['commit'][:10]} {entry['path'] or '.'}")
    (args.dest / "SOURCES.json").write_text(json.dumps(sources, indent=2) + "\n")
    print(f"{len(sources)} agents in {args.dest}" + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
