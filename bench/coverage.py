"""The strategy check against the shipped ground truth (corpus/strategies/coverage.yaml).

For every strategy PDF: precision and recall of the blocks the check calls "missing" and of
those it calls "covered", per strategy and pooled. The thresholds are tuned on the first
half of the strategies (alphabetically) and the other half is held out.

    KB_HOME=/tmp/kbcheck .venv/bin/kb ingest corpus -q
    KB_HOME=/tmp/kbcheck .venv/bin/python bench/coverage.py [--tune]

With --tune a grid search on the tuning half picks the thresholds with the best mean F1 of
"missing" and "covered", and reports them on both halves next to the shipped ones; the
shipped thresholds without the sentence-level mentions are reported too (what they add).
With --tune --objective precision it picks instead the best "missing" precision whose
"covered" precision stays >= 0.80 and "missing" recall >= --min-recall (issue #13's target),
ties to the better mean F1. The shipped thresholds are those of the store's embedder
(`check.thresholds_for`).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import check  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402

STRATEGIES = ROOT / "corpus" / "strategies"
CLASSES = ("missing", "covered")


def counts(pred: dict[str, str], truth: dict[str, str]) -> dict[str, list[int]]:
    """Per class: [true positives, predicted, actual]."""
    out = {c: [0, 0, 0] for c in CLASSES}
    for b, t in truth.items():
        p = pred.get(b, "missing")
        for c in CLASSES:
            out[c][0] += p == c and t == c
            out[c][1] += p == c
            out[c][2] += t == c
    return out


def add(a: dict[str, list[int]], b: dict[str, list[int]]) -> dict[str, list[int]]:
    return {c: [x + y for x, y in zip(a[c], b[c], strict=True)] for c in CLASSES}


def prf(c: list[int]) -> tuple[float, float, float]:
    tp, pred, actual = c
    p = tp / pred if pred else 0.0
    r = tp / actual if actual else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(c: dict[str, list[int]]) -> float:
    return sum(prf(c[k])[2] for k in CLASSES) / len(CLASSES)


def predict(draft: check.Draft, protos, t: check.Thresholds) -> dict[str, str]:
    return {b.id: b.status for b in check.coverage(draft, protos, {}, t)}


def line(name: str, c: dict[str, list[int]]) -> str:
    cells = []
    for k in CLASSES:
        p, r, _ = prf(c[k])
        cells += [f"{p:.2f}", f"{r:.2f}"]
    return f"| {name} | " + " | ".join(cells) + f" | {c['missing'][2]} / {c['covered'][2]} |"


def report(title: str, drafts, truths, protos, t: check.Thresholds, tune_names) -> None:
    print(f"\n{title}: {t}\n")
    print("| strategy | missing P | missing R | covered P | covered R | truly missing / covered |")
    print("|---|---|---|---|---|---|")
    tune = held = None
    for name in drafts:
        c = counts(predict(drafts[name], protos, t), truths[name])
        mark = " (tuning)" if name in tune_names else ""
        print(line(name + mark, c))
        if name in tune_names:
            tune = c if tune is None else add(tune, c)
        else:
            held = c if held is None else add(held, c)
    print(line("**tuning half, pooled**", tune))
    if held:
        print(line("**held-out half, pooled**", held))
        print(line("**all, pooled**", add(tune, held)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tune", action="store_true", help="grid-search thresholds on the first half")
    ap.add_argument("--objective", choices=("f1", "precision", "both"), default="f1")
    ap.add_argument("--min-recall", type=float, default=0.5)
    args = ap.parse_args()
    truth_file = yaml.safe_load((STRATEGIES / "coverage.yaml").read_text(encoding="utf-8"))
    kb = KnowledgeBase.from_env()
    protos = kb.tagger.prototypes()
    if protos is None:
        sys.exit("no guide in KB_HOME: run `kb ingest corpus` first")
    drafts, truths = {}, {}
    start = time.perf_counter()
    for pdf in sorted(STRATEGIES.glob("*.pdf")):
        entry = truth_file["strategies"][pdf.name]
        truths[pdf.name] = {b: k for k in ("covered", "weak", "missing") for b in entry[k]}
        drafts[pdf.name] = check.read(kb, pdf)
    took = time.perf_counter() - start
    print(f"{len(drafts)} strategies read and embedded in {took:.1f} s")
    names = list(drafts)
    tune_names = set(names[: len(names) // 2])
    shipped = check.thresholds_for(str(kb.embedder.name))
    print(f"model {kb.embedder.name}")
    report("Shipped thresholds", drafts, truths, protos, shipped, tune_names)
    no_sentences = dataclasses.replace(shipped, sentence_score=9.0)
    report("Shipped, without sentence mentions", drafts, truths, protos, no_sentences, tune_names)
    if not args.tune:
        return
    for objective in ("f1", "precision") if args.objective == "both" else (args.objective,):
        tune(objective, args.min_recall, drafts, truths, protos, tune_names)


def tune(objective: str, min_recall: float, drafts, truths, protos, tune_names) -> None:
    """Grid-search the thresholds on the tuning half by `objective` and report them."""
    best = None
    grid = itertools.product(
        (0.02, 0.03, 0.04, 0.06, 0.08),
        (1, 2, 3),
        (1, 2, 3),
        (0.04, 0.06, 0.08, 0.10, 0.12, 9.0),
        (0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.20, 9.0),
    )
    for margin, top_n, cov, weak, sentence in grid:
        t = check.Thresholds(margin, top_n, cov, 1, weak, sentence)
        c = None
        for name in tune_names:
            ci = counts(predict(drafts[name], protos, t), truths[name])
            c = ci if c is None else add(c, ci)
        s = score(c)
        if objective == "precision":
            mp, mr, _ = prf(c["missing"])
            ok = prf(c["covered"])[0] >= 0.80 and mr >= min_recall
            key = (ok, mp if ok else 0.0, s)
        else:
            key = (True, s, s)
        if best is None or key > best[0]:
            best = (key, t)
    report(f"Tuned on the first half ({objective}; mean F1 {best[0][2]:.3f})", drafts, truths,
           protos, best[1], tune_names)  # fmt: skip

if __name__ == "__main__":
    main()
