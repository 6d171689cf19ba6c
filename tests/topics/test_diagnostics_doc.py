"""docs/diagnostics.md is generated from the code registry; this test fails when it drifts.

Regenerate with:  POSTCALL_REGENERATE=1 .venv/bin/pytest tests/topics/test_diagnostics_doc.py
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

from postcall.diagnostics import CODES

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
DOC = REPO / "docs" / "diagnostics.md"

FAMILIES = [
    (
        "YML",
        "YAML (YML1xx)",
        "The file could not be read as YAML. Nothing else of the file is checked.",
    ),
    (
        "TPC",
        "Topics and agents (TPC2xx)",
        "Structure of topics and agent.yaml, references between actions and topics, variables.",
    ),
    (
        "PFX",
        "Power Fx (PFX1xx syntax, PFX3xx names and types)",
        "Formulas (`=...` values) and `{...}` holes in message text. Positions point into the YAML file.",
    ),
    (
        "KNW",
        "Knowledge (KNW3xx)",
        "Documents under `knowledge/` (docs/models.md); reported by `postcall check`, never a fault at run time.",
    ),
    (
        "GEN",
        "Generative nodes (GEN3xx)",
        "Generative answers and prompt actions that cannot run as configured (docs/models.md); reported by `postcall check`.",
    ),
    (
        "RUN",
        "Run time (RUN4xx)",
        "Reported while a conversation or a post-call topic runs (in run logs and the console), not by `postcall check`.",
    ),
]

HEADER = """# Diagnostics

`postcall check PATH` (and every command that loads an agent) reports problems compiler-style:

```
topics/PostCall.topic.yaml:7:93: warning TPC215: Conversation.EndReason is never "CUSTOMER_HUNGUP"; ...
      condition: =System.Conversation.EndReason = "CUSTOMER_HUNGUP"
                                                  ^^^^^^^^^^^^^^^^^
    hint: did you mean 'CUSTOMER_HANGUP'?
```

`path:line:column` points at the offending text (for formulas: inside the formula, in the YAML
file), then the severity, a stable code and the message; the source line and a caret line follow,
and a `hint:` when there is a likely fix ("did you mean" for misspelt kinds, fields, enum values,
variables, topics and functions).  Every problem of the whole agent is reported in one run.

* **error**: the agent is wrong; `postcall check` exits 1 and the runtime refuses to run it.
* **warning**: the agent loads and runs, but something will probably not behave as meant.
* **info**: for your information (skipped files, overrides).

Codes are stable: a code keeps its meaning across releases.  This page is generated from the
code registry (`tests/topics/test_diagnostics_doc.py`).
"""


def _import_registering_modules() -> None:
    for path in sorted((SRC / "postcall").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "register_code(" in text and path.name != "diagnostics.py":
            module = ".".join(path.relative_to(SRC).with_suffix("").parts)
            importlib.import_module(module)


def generate() -> str:
    _import_registering_modules()
    out = [HEADER]
    for prefix, title, blurb in FAMILIES:
        codes = sorted(
            (c for c in CODES.values() if c.code.startswith(prefix)), key=lambda c: c.code
        )
        if not codes:
            continue
        out += [f"## {title}", "", blurb, "", "| code | severity | meaning |", "|---|---|---|"]
        out += [f"| `{c.code}` | {c.severity} | {c.summary.replace('|', '/')} |" for c in codes]
        out.append("")
    others = sorted(
        (c for c in CODES.values() if not any(c.code.startswith(p) for p, _, _ in FAMILIES)),
        key=lambda c: c.code,
    )
    if others:
        out += ["## Other", "", "| code | severity | meaning |", "|---|---|---|"]
        out += [f"| `{c.code}` | {c.severity} | {c.summary} |" for c in others]
        out.append("")
    return "\n".join(out)


def test_every_code_is_documented() -> None:
    fresh = generate()
    if os.environ.get("POSTCALL_REGENERATE"):
        DOC.write_text(fresh, encoding="utf-8")
    assert DOC.exists(), (
        "docs/diagnostics.md is missing; write it with POSTCALL_REGENERATE=1 and review it."
    )
    assert DOC.read_text(encoding="utf-8") == fresh, (
        "docs/diagnostics.md is out of date: POSTCALL_REGENERATE=1 pytest tests/topics/test_diagnostics_doc.py"
    )


def test_codes_used_by_topics_are_registered() -> None:
    _import_registering_modules()
    used = set()
    for path in (SRC / "postcall" / "topics").rglob("*.py"):
        used |= set(re.findall(r'"((?:TPC|YML|PFX)\d{3})"', path.read_text(encoding="utf-8")))
    assert used <= set(CODES), sorted(used - set(CODES))
