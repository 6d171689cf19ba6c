"""Every package of postcall has its row in docs/design.md's table and an import-linter contract."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.name for p in (REPO / "src" / "postcall").iterdir() if (p / "__init__.py").exists())


def test_every_package_has_a_row_in_the_design_table() -> None:
    design = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", design, flags=re.MULTILINE))
    assert sorted(set(PACKAGES) - rows) == []
    assert sorted(rows - set(PACKAGES)) == []  # no row for a package that is gone


def test_every_package_is_the_source_of_a_contract() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    sources = {
        module.split(".")[1]
        for contract in config["tool"]["importlinter"]["contracts"]
        for module in contract.get("source_modules", [])
    }
    assert sorted(set(PACKAGES) - sources) == []
