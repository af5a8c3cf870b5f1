"""The corpus questions split by id (even / odd) with the cross-lingual aids on or off.

The "no answer" thresholds in kb/core.py were tuned on the even-numbered questions only;
the odd-numbered ones are the held-out half. Prints one line per (setting, split, mode):

    KB_HOME=/tmp/kbeval .venv/bin/python bench/crosslingual.py --mode hybrid
    KB_HOME=/tmp/kbeval .venv/bin/python bench/crosslingual.py --off expand,translate,fusion,absent

Aids: expand (BM25 adds glossary translations), translate (a Dutch query's English rendering
for the dense model), fusion (an English query's fusion lets BM25 lead on Dutch chunks),
absent (the absent-words "no answer" check).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kb.eval as ev  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402

AIDS = ("expand", "translate", "fusion", "absent")


def parity(qid: str) -> str:
    digits = re.sub(r"\D", "", qid)
    return "even" if digits and int(digits) % 2 == 0 else "odd"


def line(split: str, mode: str, res: dict) -> dict:
    g, na = res["groups"], res["no_answer"]
    pick = lambda name, metric: g.get(name, {}).get(metric)  # noqa: E731
    return {
        "split": split, "mode": mode,
        "r5": pick("all", "recall@5"), "r5_nl": pick("lang:nl", "recall@5"),
        "r5_en": pick("lang:en", "recall@5"), "r5_xl": pick("cross-lingual", "recall@5"),
        "mrr10": pick("all", "mrr@10"), "ndcg10": pick("all", "ndcg@10"),
        "na_p": na["precision"], "na_r": na["recall"],
        "answerable_refused": na["false_no_answer"],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", default="corpus/eval/questions.yaml")
    ap.add_argument("--mode", default="hybrid", choices=("dense", "bm25", "hybrid", "all"))
    ap.add_argument("--off", default="",
                    help=f"comma-separated aids to switch off: {', '.join(AIDS)}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    off = {a for a in args.off.split(",") if a}
    if off - set(AIDS):
        ap.error(f"unknown aid(s): {', '.join(off - set(AIDS))}")
    questions = ev.load_questions(Path(args.questions))
    modes = ev.MODES if args.mode == "all" else (args.mode,)
    kb = KnowledgeBase()
    kb.expand = "expand" not in off
    kb.translate = kb.translate and "translate" not in off
    kb.split_fusion = kb.split_fusion and "fusion" not in off
    if "absent" in off:
        kb.max_absent = None
    rows = []
    try:
        for split in ("all", "even", "odd"):
            qs = [q for q in questions if split == "all" or parity(q.id) == split]
            for mode in modes:
                rows.append(line(split, mode, ev.evaluate_questions(kb, qs, mode)))
    finally:
        kb.close()
    if args.json:
        print(json.dumps({"off": sorted(off), "rows": rows}, indent=1))
        return
    print(f"aids off: {', '.join(sorted(off)) or 'none'}")
    cols = ("r5", "r5_nl", "r5_en", "r5_xl", "mrr10", "ndcg10", "na_p", "na_r",
            "answerable_refused")
    print(f"{'split':<6}{'mode':<8}" + "".join(f"{c:>10}" for c in cols))
    fmt = lambda x: "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))  # noqa: E731
    for r in rows:
        print(f"{r['split']:<6}{r['mode']:<8}" + "".join(f"{fmt(r[c]):>10}" for c in cols))


if __name__ == "__main__":
    main()
