"""Calibrate the answer-type and place rules of the "no answer" decision (kb/answer_type.py,
`Retriever.fact_present`) by a small grid, on the hits `ask` decides from.

    KB_HOME=/tmp/retr-minilm python bench/noanswer_sweep.py corpus/eval/dev.yaml \
        corpus/eval/questions.yaml [--json OUT]

Picks the setting with the best F1 of "no answer" among those that refuse at most
--max-refused answerable questions (ties: fewer refused, then the current values). Tune on
dev.yaml and questions.yaml only, never on test.yaml.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.answer import select_diverse  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402
from kb.eval.metrics import no_answer_scores  # noqa: E402
from kb.eval.questions import load_questions  # noqa: E402
from kb.retrieval import candidates  # noqa: E402

GRID = {
    "answer_types": (False, True),
    "fact_share": (0.2, 0.34, 0.5),
    "fact_window": (0, 1),
    "fact_top": (1, 2, 3),
    "place_max_df": (0, 1),
    "confidence_top": (3, 15),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("questions", nargs="+")
    p.add_argument("--json")
    p.add_argument("--max-refused", type=int, default=2)
    p.add_argument("--grid", help="a grid of its own as JSON: {setting: [values]}")
    args = p.parse_args()
    kb = KnowledgeBase.from_env()
    base = kb.retriever
    questions = [q for path in args.questions for q in load_questions(Path(path))]
    vectors = kb.embedder.embed_queries([q.question for q in questions])
    prepared = []
    for q, v in zip(questions, vectors, strict=True):
        a = base.analyse(q.question)
        pool = base.retrieve(a, k=candidates(5), vector=v)
        prepared.append((q, a, select_diverse(pool, 5), pool))
    unanswerable = [not q.answerable for q in questions]
    grid = json.loads(args.grid) if args.grid else GRID
    rows = []
    for vals in itertools.product(*grid.values()):
        s = dict(zip(grid, vals, strict=True))
        s.setdefault("answer_types", True)
        s.setdefault("fact_share", 0.5)
        s.setdefault("fact_window", 1)
        s.setdefault("fact_top", 3)
        if not s["answer_types"] and (s["fact_share"], s["fact_window"], s["fact_top"]) != (
            0.5,
            1,
            3,
        ):
            continue
        trial = base.configured(**s)
        answered = [trial.confident(a, h, pool=pl) for _, a, h, pl in prepared]
        sc = no_answer_scores(unanswerable, answered)
        refused = [q.id for q, a in zip(questions, answered, strict=True) if q.answerable and not a]
        missed = [q.id for q, a in zip(questions, answered, strict=True) if not q.answerable and a]
        rows.append({**s, **sc, "refused": refused, "missed": missed})
    ok = [r for r in rows if len(r["refused"]) <= args.max_refused] or rows
    cur = base.config
    best = max(ok, key=lambda r: (r["f1"], -len(r["refused"]),
                                  r["fact_share"] == cur.fact_share and r["fact_window"] == cur.fact_window))  # fmt: skip
    for r in sorted(rows, key=lambda r: -r["f1"])[:15]:
        print(json.dumps({k: v for k, v in r.items() if k not in ("missed",)}))
    print("BEST", json.dumps(best))
    if args.json:
        Path(args.json).write_text(json.dumps({"best": best, "grid": rows}, indent=1))


if __name__ == "__main__":
    main()
