"""Intent recognition on public benchmarks: the embedded recogniser beside TF-IDF and the lexical one.

Data (fetch it; nothing of it is kept in this repository):
* CLINC150, github.com/clinc/oos-eval (CC BY 3.0, Larson et al. 2019): data/data_full.json,
  150 intents, 4,500 in-scope test utterances, 1,000 out-of-scope test utterances.
* BANKING77, github.com/PolyAI-LDN/task-specific-datasets (CC BY 4.0, Casanueva et al. 2020):
  banking_data/train.csv and test.csv, 77 intents, 3,080 test utterances.
* HWU64, github.com/xliuhw/NLU-Evaluation-Data (CC BY 4.0, Liu et al. 2019), optional with
  --hwu: the authors' own cross-validation fold 1 (CrossValidation/out4RasaReal/.../KFold_1,
  merged/ and mergedTestset/), 64 intents, 9,960 training and 1,076 test utterances.  Its test
  split was never used for a choice: it is the check that the recogniser does not only fit
  CLINC150.  (Its training utterances outside the sampled phrases were validation data in two
  design rounds, docs/engine.md, so it is not untouched.)

Protocol (issue 14): for each seed, K trigger phrases per intent are sampled from the training
split; every intent is a candidate topic; every test utterance is decided.  Reported per
recogniser: top-1 (the decision's first topic is right and the outcome is not "none"), raw
top-1 (ranking only, no threshold), no-match rate on in-scope utterances, ambiguous rate,
CLINC150 out-of-scope rejection (outcome "none") at the same thresholds, CPU ms per utterance,
preparation CPU seconds, and the model's load time and resident memory.

`--calibrate` chooses the embedded recogniser's default thresholds on data held out from every
test set: CLINC150's 3,000 validation utterances and its 200 held-out out-of-scope ones
(oos_val and oos_train; never oos_test), with phrase samples drawn with seeds 101-105, never
the test seeds, in agents of all 150 intents and of 5, 10, 20 and 50 random ones (8 agents a
size).  It picks the thresholds with the best mean validation top-1 over the sizes among those
that reject at least `--target` (70%) of those out-of-scope utterances at every size.  Why 70%
and not the 60% the goal names: CLINC150's out-of-scope test set is harder than its validation ones (at 0.04 / 0.30,
66% of each validation half of 100 was rejected, 57% of the 1,000 test utterances), so the
target keeps a margin of about ten points.

`--fsid PATH` adds held-out sets with out-of-scope utterances from
github.com/jianguoz/Few-Shot-Intent-Detection (its Datasets/ folder; source, licences and what
each set measures in bench/_fsid.py): BANKING77-OOS, CLINC-Single-Domain-OOS (banking,
credit_cards), SNIPS and ATIS, each reported at the thresholds in use (in-scope top-1,
in-domain and other out-of-scope rejection).

    .venv/bin/python bench/bench_recognizer.py --clinc PATH/oos-eval --banking PATH/task-specific-datasets \
        [--hwu PATH/NLU-Evaluation-Data] [--fsid PATH/Few-Shot-Intent-Detection/Datasets] [--seeds 1 2 3 4 5] \
        [--k 10] [--lexical-limit 600] [--calibrate [--target 0.7]] [--no-write]

It also times decisions on bad input (nothing, one word, 10,000 characters, other scripts,
emoji) over the 150 CLINC150 topics.

Writes the `## Intent recognition` section of docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from _fsid import HeldOut, load_fsid
from _report import write_section

from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer, decide
from postcall.understanding import EmbeddedRecognizer, Thresholds, load_embedder
from postcall.understanding.lexical import TfIdf

REPO = Path(__file__).resolve().parent.parent
Pairs = list[tuple[str, str]]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Data:
    name: str
    train: Pairs
    test: Pairs
    oos: list[str]
    val: Pairs
    oos_val: list[str]  # out-of-scope utterances held out from the test: oos_val + oos_train


def load_clinc(root: Path) -> Data:
    d = json.loads((root / "data" / "data_full.json").read_text())
    pairs = lambda key: [(t, label) for t, label in d[key]]  # noqa: E731
    return Data("CLINC150", pairs("train"), pairs("test"), [t for t, _ in d["oos_test"]],
                pairs("val"), [t for t, _ in d["oos_val"]] + [t for t, _ in d["oos_train"]])


def load_banking(root: Path) -> Data:
    def read(name: str) -> Pairs:
        with open(root / "banking_data" / name, newline="") as fh:
            return [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    return Data("BANKING77", read("train.csv"), read("test.csv"), [], [], [])


HWU_FOLD = "CrossValidation/out4RasaReal/rasa_json_2018_03_22-13_01_25_169_80Train/CrossValidation/KFold_1"


def load_hwu(root: Path) -> Data:
    def read(folder: str) -> Pairs:
        found = sorted((root / HWU_FOLD / folder).glob("*.json"))
        if not found:
            raise SystemExit(f"no HWU64 fold file under {root / HWU_FOLD / folder}")
        examples = json.loads(found[0].read_text())["rasa_nlu_data"]["common_examples"]
        return [(e["text"], e["intent"]) for e in examples]
    return Data("HWU64", read("merged"), read("mergedTestset"), [], [], [])


BAD_INPUT = {
    "nothing": "", "one word": "hmm", "10,000 characters": "x" * 10_000, "2,000 words": "word " * 2_000,
    "Chinese": "我想查询我的账单", "Arabic": "أريد التحدث إلى شخص", "emoji": "😀😀😀 🙏 🚀", "control": "\x00\x01",
}


def time_bad_input(data: Data, k: int) -> str:
    """CPU ms per decision of each bad input over all the data set's topics (and its outcome)."""
    cands = sample(data.train, k, 1)
    rec = EmbeddedRecognizer()
    rec.prepare(cands)
    parts = []
    for label, text in BAD_INPUT.items():
        t0 = time.process_time()
        for _ in range(20):
            found = rec.decide(text, cands)
        parts.append(f"{label} {(time.process_time() - t0) / 20 * 1000:.2f} ms ({found.outcome})")
    return f"Bad input over {len(cands)} topics, CPU per decision: " + ", ".join(parts) + "."


_DIGITS = "zero one two three four five six seven eight nine".split()
_HOMOPHONES = {"to": "too", "for": "four", "your": "you're", "there": "their", "right": "write", "know": "no"}


def asr_variant(text: str, rng: random.Random) -> str:
    """What a speech recogniser might write: lower case, no punctuation, digits spoken one by
    one, a filler or two, now and then a homophone."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    spoken: list[str] = []
    for word in words:
        if word.isdigit():
            spoken.extend(_DIGITS[int(d)] for d in word)
        elif word in _HOMOPHONES and rng.random() < 0.5:
            spoken.append(_HOMOPHONES[word])
        else:
            spoken.append(word)
    spoken.insert(0, rng.choice(["um", "uh", "so", "yeah"]))
    if len(spoken) > 3 and rng.random() < 0.5:
        spoken.insert(rng.randrange(2, len(spoken)), rng.choice(["uh", "like", "you know"]))
    return " ".join(spoken)


def run_asr(data: Data, k: int, th: Thresholds) -> str:
    """Top-1 on the test utterances as written and as a speech recogniser might write them."""
    cands = sample(data.train, k, 1)
    rec = EmbeddedRecognizer(th)
    rec.prepare(cands)
    rng = random.Random(0)
    clean = noisy = 0
    for text, label in data.test:
        for variant, counter in ((text, 0), (asr_variant(text, rng), 1)):
            d = rec.decide(variant, cands)
            hit = d.outcome != "none" and d.chosen[0].topic == label
            if counter:
                noisy += hit
            else:
                clean += hit
    n = len(data.test)
    return f"{data.name} ASR-style (seed 1): top-1 {clean / n:.1%} as written, {noisy / n:.1%} spoken-style"


def small_agents(data: Data, k: int, th: Thresholds, agents: int = 10, size: int = 10) -> str:
    """Agents of `size` random intents: top-1 on their own test utterances, and how many
    utterances of the other intents (in scope elsewhere) and of the oos test set go to "none"."""
    labels = sorted({label for _, label in data.train if label != "oos"})
    right = total = other_none = other_total = oos_none = 0
    for seed in range(agents):
        rng = random.Random(1000 + seed)
        chosen = set(rng.sample(labels, size))
        cands = [c for c in sample([(t, lab) for t, lab in data.train if lab in chosen], k, seed)]
        rec = EmbeddedRecognizer(th)
        rec.prepare(cands)
        mine = [(t, lab) for t, lab in data.test if lab in chosen]
        others = rng.sample([t for t, lab in data.test if lab not in chosen], 300)
        for text, label in mine:
            d = rec.decide(text, cands)
            right += d.outcome != "none" and d.chosen[0].topic == label
        total += len(mine)
        other_none += sum(rec.decide(t, cands).outcome == "none" for t in others)
        other_total += len(others)
        oos_none += sum(rec.decide(t, cands).outcome == "none" for t in data.oos[:300])
    return (f"{data.name}, {agents} agents of {size} random intents: top-1 {right / total:.1%} on their own test "
            f"utterances; {other_none / other_total:.1%} of other intents' utterances and "
            f"{oos_none / (300 * agents):.1%} of out-of-scope ones go to \"none\"")


def sample(train: Pairs, k: int, seed: int) -> list[IntentCandidate]:
    by: dict[str, list[str]] = {}
    for text, label in train:
        by.setdefault(label, []).append(text)
    rng = random.Random(seed)
    return [IntentCandidate(label, tuple(rng.sample(texts, min(k, len(texts)))))
            for label, texts in sorted(by.items()) if label != "oos"]


@dataclass
class Row:
    recognizer: str
    data: str
    top1: float
    raw_top1: float
    no_match: float
    ambiguous: float
    oos_rejected: float | None
    ms_per_utterance: float
    prepare_s: float
    n: int


class TfIdfNearest:
    """Baseline: nearest trigger phrase by TF-IDF cosine (word uni+bigrams), no threshold."""

    name = "tf-idf nearest phrase"

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None:
        self.labels = [c.topic for c in candidates for _ in c.phrases]
        phrases = [p for c in candidates for p in c.phrases]
        self.tfidf = TfIdf(phrases)
        self.matrix = self.tfidf.transform(phrases)

    def top(self, text: str) -> str | None:
        sims = (self.matrix @ self.tfidf.transform([text]).T).toarray()[:, 0]
        return self.labels[int(np.argmax(sims))] if sims.max() > 0 else None


def run_embedded(data: Data, cands: list[IntentCandidate], th: Thresholds, limit: int | None,
                 topic_names: bool = True) -> Row:
    rec = EmbeddedRecognizer(th, topic_names=topic_names)
    t0 = time.process_time()
    rec.prepare(cands)
    prep = time.process_time() - t0
    # The test files are sorted by intent: a --limit takes a fixed random sample, not the first
    # N (which would be a handful of intents).
    test = random.Random(0).sample(data.test, limit) if limit and limit < len(data.test) else data.test
    ok = raw = none = amb = 0
    t0 = time.process_time()
    for text, label in test:
        d = rec.decide(text, cands)
        raw += bool(d.ranked) and d.ranked[0].topic == label
        ok += d.outcome != "none" and d.chosen[0].topic == label
        none += d.outcome == "none"
        amb += d.outcome == "ambiguous"
    oos_rej = sum(rec.decide(t, cands).outcome == "none" for t in data.oos)
    cpu = time.process_time() - t0
    n = len(test) + len(data.oos)
    return Row("embedded" if topic_names else "embedded, phrases only", data.name, ok / len(test), raw / len(test), none / len(test), amb / len(test),
               oos_rej / len(data.oos) if data.oos else None, cpu / n * 1000, prep, len(test))


def run_lexical(data: Data, cands: list[IntentCandidate], limit: int) -> Row:
    rec = PhraseRecognizer()
    rng = random.Random(0)
    test = rng.sample(data.test, min(limit, len(data.test)))
    oos = rng.sample(data.oos, min(limit // 3, len(data.oos))) if data.oos else []
    ok = none = 0
    t0 = time.process_time()
    for text, label in test:
        d = decide(rec, text, cands)
        ok += d.outcome != "none" and d.chosen[0].topic == label
        none += d.outcome == "none"
    rej = sum(decide(rec, t, cands).outcome == "none" for t in oos)
    cpu = time.process_time() - t0
    return Row(f"lexical (old; {len(test)} sampled)", data.name, ok / len(test), ok / len(test),
               none / len(test), 0.0, rej / len(oos) if oos else None, cpu / (len(test) + len(oos)) * 1000, 0.0, len(test))


def run_tfidf(data: Data, cands: list[IntentCandidate]) -> Row:
    rec = TfIdfNearest()
    t0 = time.process_time()
    rec.prepare(cands)
    prep = time.process_time() - t0
    t0 = time.process_time()
    ok = sum(rec.top(t) == label for t, label in data.test)
    cpu = time.process_time() - t0
    none = sum(rec.top(t) is None for t, _ in data.test)
    return Row("tf-idf nearest phrase", data.name, ok / len(data.test), ok / len(data.test),
               none / len(data.test), 0.0, None, cpu / len(data.test) * 1000, prep, len(data.test))


CALIBRATION_SEEDS = (101, 102, 103, 104, 105)  # never the test seeds
CALIBRATION_TARGET = 0.70
CALIBRATION_SIZES = (5, 10, 20, 50)  # besides all 150 intents
CALIBRATION_AGENTS = 8  # random agents per smaller size
MIN_FLOOR = 0.22  # noise the data sets lack lands up to 0.22 in small agents (docs/engine.md)


def calibration_records(clinc: Data, k: int, seeds: Sequence[int]) -> dict[int, list[npt.NDArray[np.float64]]]:
    """Per agent size, per agent: rows (in scope, best topic right, its probability, its nearest
    phrase's cosine) over CLINC150's validation utterances of the agent's intents and the 200
    held-out out-of-scope utterances.  All 150 intents with phrases sampled with each seed; and
    CALIBRATION_AGENTS agents of each smaller size, of random intents (seeded 101, 102, ...)."""
    labels = sorted({label for _, label in clinc.train if label != "oos"})
    agents: list[tuple[int, set[str], int]] = [(len(labels), set(labels), seed) for seed in seeds]
    for size in CALIBRATION_SIZES:
        for a in range(CALIBRATION_AGENTS):
            agents.append((size, set(random.Random(seeds[0] + 1000 * size + a).sample(labels, size)), seeds[a % len(seeds)]))
    out: dict[int, list[npt.NDArray[np.float64]]] = {}
    for size, chosen, seed in agents:
        cands = sample([(t, lab) for t, lab in clinc.train if lab in chosen], k, seed)
        rec = EmbeddedRecognizer()
        rec.prepare(cands)
        rows = []
        for text, label in [*((t, lab) for t, lab in clinc.val if lab in chosen), *((t, "oos") for t in clinc.oos_val)]:
            best, near = rec.scores(text, cands)[0]
            rows.append((float(label != "oos"), float(best.topic == label), best.score, near))
        out.setdefault(size, []).append(np.array(rows))
    return out


def calibrate(clinc: Data, k: int, seeds: Sequence[int], target: float) -> Thresholds:
    """Both floors, chosen on data held out from every test (calibration_records): the best
    mean validation top-1 over the agent sizes among the thresholds that reject at least
    `target` of the held-out out-of-scope utterances at every size."""
    records = calibration_records(clinc, k, seeds)

    def measure(thresh: float, floor: float) -> list[tuple[float, float]]:
        per_size = []
        for agents in records.values():
            acc = rej = 0.0
            for arr in agents:
                ins, right, kept = arr[:, 0] == 1, arr[:, 1] == 1, (arr[:, 2] >= thresh) & (arr[:, 3] >= floor)
                acc += float((kept & right)[ins].mean()) / len(agents)
                rej += float((~kept[~ins]).mean()) / len(agents)
            per_size.append((acc, rej))
        return per_size

    best: tuple[float, float, float, list[tuple[float, float]]] | None = None
    # The floor's job is what carries no meaning for the agent (one filler word, punctuation,
    # control characters, emoji, 10,000 x's: nearest cosines up to 0.19 to the example agent's
    # phrases), which CLINC150 does not contain: it is searched from MIN_FLOOR up.
    for floor in np.arange(MIN_FLOOR, 0.50, 0.02):
        for thresh in np.arange(0.01, 0.30, 0.005):
            got = measure(float(thresh), float(floor))
            mean = float(np.mean([a for a, _ in got]))
            if min(r for _, r in got) >= target and (best is None or mean > best[0] + 1e-9):
                best = (mean, float(floor), float(thresh), got)
    if best is None:
        raise SystemExit(f"no thresholds reach {target:.0%} rejection at every agent size")
    mean, floor, thresh, got = best
    sizes = ", ".join(f"{size} topics {a:.1%} / {r:.1%}" for size, (a, r) in zip(records, got, strict=True))
    print(f"calibrated on CLINC150 val + {len(clinc.oos_val)} held-out out-of-scope utterances (seeds {list(seeds)}, "
          f"target rejection {target:.0%} at every size): match_threshold {thresh:.3f}, similarity_floor {floor:.2f} "
          f"-> mean val top-1 {mean:.2%}; top-1 / rejection: {sizes}")
    return replace(Thresholds(), match_threshold=round(thresh, 3), similarity_floor=round(floor, 2))


@dataclass
class HeldOutRow:
    data: str
    topics: int
    top1: float
    raw_top1: float
    no_match: float
    id_oos: float | None
    ood_oos: float | None


def run_heldout(held: HeldOut, k: int, seeds: Sequence[int], th: Thresholds) -> HeldOutRow:
    """In-scope top-1 and out-of-scope rejection on a held-out set at the shipped thresholds."""
    got: list[tuple[float, float, float, float | None, float | None]] = []
    for seed in seeds:
        cands = sample(held.train, k, seed)
        rec = EmbeddedRecognizer(th)
        rec.prepare(cands)
        ok = raw = none = 0
        for text, label in held.test:
            d = rec.decide(text, cands)
            raw += bool(d.ranked) and d.ranked[0].topic == label
            ok += d.outcome != "none" and d.chosen[0].topic == label
            none += d.outcome == "none"
        rejected = [sum(rec.decide(t, cands).outcome == "none" for t in texts) / len(texts) if texts else None
                    for texts in (held.id_oos, held.ood_oos)]
        n = len(held.test)
        got.append((ok / n, raw / n, none / n, rejected[0], rejected[1]))
        print(f"seed {seed} {held.name}: top-1 {ok / n:.3f} raw {raw / n:.3f} none {none / n:.3f} "
              f"id-oos {rejected[0]} ood-oos {rejected[1]}", flush=True)
    mean = lambda i: float(np.mean([g[i] for g in got]))  # noqa: E731
    return HeldOutRow(held.name, len({label for _, label in held.train}), mean(0), mean(1), mean(2),
                      mean(3) if held.id_oos else None, mean(4) if held.ood_oos else None)


HELD_OUT_TEXT = """
Held-out out-of-scope sets (`--fsid`: jianguoz/Few-Shot-Intent-Detection, bench/_fsid.py; nothing
was tuned on them), the same seeds, K and thresholds.  "in-domain oos" are utterances of the
domain's intents the agent has no topic for (BANKING77-OOS: 27 of BANKING77's intents;
CLINC-SD: 5 of the domain's 15), the hard case a threshold cannot be expected to catch;
"other oos" is CLINC150's out-of-scope *test* set seen by a 50- or 10-topic agent.

{table}
"""


def fmt_heldout(rows: list[HeldOutRow]) -> str:
    pct = lambda v: f"{v:.1%}" if v is not None else "n/a"  # noqa: E731
    lines = ["| data | topics | in-scope top-1 | raw top-1 | in-scope no match | in-domain oos rejected | other oos rejected |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.data} | {r.topics} | {r.top1:.1%} | {r.raw_top1:.1%} | {r.no_match:.1%} | {pct(r.id_oos)} | {pct(r.ood_oos)} |"
              for r in rows]
    return "\n".join(lines)


def fmt(rows: list[Row]) -> str:
    lines = ["| data | recogniser | top-1 | raw top-1 | no match | ambiguous | oos rejected | CPU ms/utt | prepare s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        oos = f"{r.oos_rejected:.1%}" if r.oos_rejected is not None else "n/a"
        lines.append(f"| {r.data} | {r.recognizer} | {r.top1:.1%} | {r.raw_top1:.1%} | {r.no_match:.1%} | "
                     f"{r.ambiguous:.1%} | {oos} | {r.ms_per_utterance:.2f} | {r.prepare_s:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clinc", type=Path, required=True, help="checkout of clinc/oos-eval")
    ap.add_argument("--banking", type=Path, required=True, help="checkout of PolyAI-LDN/task-specific-datasets")
    ap.add_argument("--hwu", type=Path, default=None, help="checkout of xliuhw/NLU-Evaluation-Data (held out)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--lexical-limit", type=int, default=600)
    ap.add_argument("--limit", type=int, default=None, help="test utterances per data set (default: all)")
    ap.add_argument("--fsid", type=Path, default=None,
                    help="Datasets/ folder of jianguoz/Few-Shot-Intent-Detection (held-out out-of-scope sets)")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--target", type=float, default=CALIBRATION_TARGET,
                    help="--calibrate: out-of-scope rejection to reach on the validation utterances")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    clinc, banking = load_clinc(args.clinc), load_banking(args.banking)
    sets = [clinc, banking] + ([load_hwu(args.hwu)] if args.hwu else [])
    before = rss_mb()
    t0 = time.perf_counter()
    load_embedder()
    load_s = time.perf_counter() - t0
    model_mb = rss_mb() - before
    th = calibrate(clinc, args.k, CALIBRATION_SEEDS, args.target) if args.calibrate else Thresholds()
    rows: list[Row] = []
    for data in sets:
        per_seed: list[list[Row]] = []
        for seed in args.seeds:
            cands = sample(data.train, args.k, seed)
            seed_rows = [run_embedded(data, cands, th, args.limit), run_embedded(data, cands, th, args.limit, False),
                         run_tfidf(data, cands)]
            if seed == args.seeds[0]:
                seed_rows.append(run_lexical(data, cands, args.lexical_limit))
            per_seed.append(seed_rows)
            for r in seed_rows:
                print(f"seed {seed} {data.name:9} {r.recognizer:32} top-1 {r.top1:.3f} raw {r.raw_top1:.3f} "
                      f"none {r.no_match:.3f} amb {r.ambiguous:.3f} oos {r.oos_rejected} "
                      f"{r.ms_per_utterance:.2f} ms/utt prep {r.prepare_s:.2f}s", flush=True)
        for i in range(len(per_seed[0])):
            group = [s[i] for s in per_seed if len(s) > i]
            oos = [g.oos_rejected for g in group if g.oos_rejected is not None]
            rows.append(Row(group[0].recognizer, data.name,
                            *(float(np.mean([getattr(g, f) for g in group])) for f in ("top1", "raw_top1", "no_match", "ambiguous")),
                            float(np.mean(oos)) if oos else None,
                            float(np.mean([g.ms_per_utterance for g in group])),
                            float(np.mean([g.prepare_s for g in group])), group[0].n))
            if len(group) > 1:
                spread = max(g.top1 for g in group) - min(g.top1 for g in group)
                print(f"{data.name} {group[0].recognizer}: top-1 spread over seeds {spread:.3f}")
    table = fmt(rows)
    print(table)
    ratios = []
    for name in (d.name for d in sets):
        mine = next(r for r in rows if r.data == name and r.recognizer == "embedded")
        base = next(r for r in rows if r.data == name and r.recognizer.startswith("tf-idf"))
        old = next(r for r in rows if r.data == name and r.recognizer.startswith("lexical"))
        ratios.append(f"{name}: top-1 {mine.top1 / base.top1:.2f}x TF-IDF's and {mine.top1 / old.top1:.2f}x the old recogniser's")
    emb = {r.data: r for r in rows if r.recognizer == "embedded"}
    goals = (
        f"Goals (issue 14): CLINC150 top-1 >= 85% with out-of-scope rejection >= 60% at the same thresholds "
        f"(measured {emb['CLINC150'].top1:.1%} with {emb['CLINC150'].oos_rejected or 0:.1%}), BANKING77 >= 80% "
        f"(measured {emb['BANKING77'].top1:.1%}), <= 5 ms CPU per utterance over 150 topics (measured "
        f"{emb['CLINC150'].ms_per_utterance:.2f}), <= 2 s to prepare 150 topics (measured {emb['CLINC150'].prepare_s:.2f})."
        + (f"  HWU64, whose test split no choice used: top-1 {emb['HWU64'].top1:.1%} (raw {emb['HWU64'].raw_top1:.1%})."
           if "HWU64" in emb else "")
    )
    held_rows = [run_heldout(h, args.k, args.seeds, th) for h in load_fsid(args.fsid)] if args.fsid else []
    held_table = fmt_heldout(held_rows) if held_rows else ""
    if held_table:
        print(held_table)
    bad = time_bad_input(clinc, args.k)
    small = small_agents(clinc, args.k, th)
    asr = "; ".join(run_asr(d, args.k, th) for d in sets) + (
        " (lower case, punctuation dropped, digits spoken, fillers and homophones inserted: bench_recognizer.asr_variant)."
    )
    print("; ".join(ratios))
    print(goals)
    print(f"model load {load_s:.2f} s, +{model_mb:.0f} MB resident")
    print(bad)
    print(asr)
    print(small)
    body = f"""Measured by `bench/bench_recognizer.py` on {platform.machine()} ({os.cpu_count()} cores shared with
other work), {time.strftime('%Y-%m-%d')}; K = {args.k} trigger phrases per intent sampled with seeds
{args.seeds} (mean over seeds; the old lexical recogniser on {args.lexical_limit} sampled utterances of
the first seed only, because it is slow); every intent a candidate; thresholds
match_threshold {th.match_threshold}, similarity_floor {th.similarity_floor}, ambiguity_ratio
{th.ambiguity_ratio} (calibrated on CLINC150's validation and held-out out-of-scope utterances with
seeds 101-105 in agents of 5 to 150 intents, never on the test splits or seeds).
Model load {load_s:.2f} s and +{model_mb:.0f} MB resident (WordLlama l2_supercat_256, shared by all agents).

{table}

{"; ".join(ratios)}.  {goals}
{HELD_OUT_TEXT.format(table=held_table) if held_table else ""}
{bad}

{asr}

{small} (the same thresholds: in a small agent the "none of these" class is what rejects).

top-1 counts an utterance right when the decision's first topic is right and the outcome is
not "none" (an ambiguous outcome whose first option is right counts: the caller is asked);
raw top-1 ignores the thresholds.  "embedded" is the default recogniser, for which a readable
topic name (here the intent label, "pto_request" -> "pto request") counts as one more phrase;
"embedded, phrases only" is the same without it (K phrases and nothing else).  Data: CLINC150 (CC BY 3.0), BANKING77 (CC BY 4.0) and
HWU64 (CC BY 4.0, fold 1 of its authors' cross-validation), fetched, not kept here.
"""
    if not args.no_write:
        write_section("Intent recognition", "## Intent recognition\n\n" + body.strip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
