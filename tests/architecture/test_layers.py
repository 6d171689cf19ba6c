"""Every package of postcall has its row in docs/design.md's table, in the order of the layers contract,
and the contracts each row names exist and apply to that package."""

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


BOTTOM_CONTRACT = "The bottom modules import none of the packages"


def test_every_bottom_module_is_in_the_design_and_its_contract() -> None:
    modules = sorted(p.stem for p in (REPO / "src" / "postcall").glob("*.py") if p.stem != "__init__")
    design = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    (contract,) = [c for c in _contracts() if c["name"] == BOTTOM_CONTRACT]
    sources = {str(m).removeprefix("postcall.") for m in contract["source_modules"]}  # type: ignore[attr-defined]
    assert [m for m in modules if f"{m}.py" not in design] == []
    assert sorted(set(modules) - sources) == []


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _rows() -> list[tuple[str, list[str]]]:
    design = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    found = re.findall(r"^\| `([a-z_]+)` \|.*\| ([^|]+) \|$", design, flags=re.MULTILINE)
    return [(package, [c.strip() for c in contracts.split(";")]) for package, contracts in found]


def test_each_row_names_contracts_that_exist_and_apply_to_its_package() -> None:
    by_name = {str(c["name"]): c for c in _contracts()}
    problems = []
    for package, names in _rows():
        for name in names:
            contract = by_name.get(name)
            if contract is None:
                problems.append(f"{package}: no contract named {name!r} in pyproject.toml")
                continue
            modules = [str(m) for key in ("source_modules", "forbidden_modules") for m in contract.get(key, [])]
            if not any(m == f"postcall.{package}" or m.startswith(f"postcall.{package}.") for m in modules):
                problems.append(f"{package}: the contract {name!r} does not name postcall.{package}")
    assert not problems, "\n".join(problems)
    assert {p for p, _ in _rows()} == set(PACKAGES)


def test_the_table_lists_the_packages_in_the_order_of_the_layers_contract() -> None:
    layered = [c for c in _contracts() if c.get("type") == "layers"]
    assert len(layered) == 1, "one layers contract: the order of docs/design.md's table"
    order = [name.split(".")[1] for layer in layered[0]["layers"] for name in str(layer).split("|")]
    order = [name.strip() for name in order]
    assert [p for p, _ in _rows()] == order
    assert sorted(order) == PACKAGES  # every package is in a layer
