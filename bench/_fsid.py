"""Held-out intent data with out-of-scope utterances, for bench_recognizer.py --fsid.

Source: github.com/jianguoz/Few-Shot-Intent-Detection (commit fa95533, Zhang et al., "Are
Pretrained Transformers Robust in Intent Classification? A Missing Ingredient in Evaluation of
Out-of-Scope Intent Detection", 2021), its Datasets/ folder, in which every split is a folder
with `seq.in` (one utterance a line) and `label` (its intent, `oos` for out of scope).  The
repository states no licence of its own; it repackages public data sets, each under its own
terms: BANKING77 (CC BY 4.0), CLINC150 (CC BY 3.0), SNIPS (Snips' NLU benchmark) and ATIS
(distributed by the LDC; research use).  Nothing of it is kept in this repository, and nothing
was tuned on it.

What each set measures (read their README and the paper before reading the figures):
* BANKING77-OOS: 50 of BANKING77's 77 intents are the agent's topics; `id-oos/test` holds
  utterances of the other 27 (banking requests the agent has no topic for: in-domain out of
  scope, the hard case), `ood-oos/test` CLINC150's out-of-scope test utterances.
* CLINC-Single-Domain-OOS banking and credit_cards: 10 of one CLINC150 domain's intents are the
  topics; `id-oos/test` holds the domain's other 5 intents' utterances, `ood-oos/test` again
  CLINC150's out-of-scope test utterances (so its figures are the CLINC150 out-of-scope set
  seen by a 10- or 50-topic agent; its validation counterpart is what the thresholds were
  calibrated on, the test one never was).
* SNIPS (7 intents) and ATIS (17 intents and combinations, some with one or two examples):
  in-scope only, how many in-scope utterances of a small agent the thresholds send to "none".
  Test utterances whose label has no training utterance (4 ATIS combinations) are left out:
  no topic exists for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Pairs = list[tuple[str, str]]


@dataclass
class HeldOut:
    name: str
    train: Pairs
    test: Pairs  # in scope
    id_oos: list[str]  # in-domain out of scope ([] when the set has none)
    ood_oos: list[str]  # out-of-domain out of scope ([] when the set has none)


def read_split(folder: Path) -> Pairs:
    """A split folder's (utterance, label) pairs."""
    texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise SystemExit(f"{folder}: {len(texts)} utterances but {len(labels)} labels")
    return [(t.strip(), label.strip()) for t, label in zip(texts, labels, strict=True) if t.strip()]


def load_fsid(root: Path) -> list[HeldOut]:
    """The sets under `root` (the repository's Datasets/ folder) that are present, in order."""
    if not root.is_dir():
        raise SystemExit(f"--fsid {root}: not a folder (the Datasets/ folder of Few-Shot-Intent-Detection)")
    found: list[HeldOut] = []
    for name, folder in (
        ("BANKING77-OOS", root / "BANKING77-OOS"),
        ("CLINC-SD banking", root / "CLINC-Single-Domain-OOS" / "banking"),
        ("CLINC-SD credit_cards", root / "CLINC-Single-Domain-OOS" / "credit_cards"),
    ):
        if (folder / "test").is_dir():
            found.append(HeldOut(
                name, read_split(folder / "train"), read_split(folder / "test"),
                [t for t, _ in read_split(folder / "id-oos" / "test")],
                [t for t, _ in read_split(folder / "ood-oos" / "test")],
            ))
    for name in ("SNIPS", "ATIS"):
        folder = root / name
        if (folder / "test").is_dir():
            train = read_split(folder / "train")
            known = {label for _, label in train}
            test = [(t, label) for t, label in read_split(folder / "test") if label in known]
            found.append(HeldOut(name, train, test, [], []))
    if not found:
        raise SystemExit(f"--fsid {root}: none of BANKING77-OOS, CLINC-Single-Domain-OOS, SNIPS, ATIS found")
    return found
