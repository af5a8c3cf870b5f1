"""Sweep the guide-structure ranking (kb/structure.py) on a question set: R@1 and R@5 per
kind and language for each setting, with the questions embedded once.

    KB_HOME=/tmp/retr-minilm python bench/guide_sweep.py corpus/eval/dev.yaml [--json OUT]

Tune on corpus/eval/dev.yaml and corpus/eval/questions.yaml only, never on test.yaml.
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
from kb.eval.questions import load_questions, matches  # noqa: E402
from kb.retrieval import candidates  # noqa: E402

GRID = {
    "structure_weight": (0.0, 1.0, 2.0, 3.0),
    "structure_rrf": (10,),
    "top_blocks": (2, 3),
    "facet_bonus": (3.0, 6.0),
}


def prepare(kb, questions):
    """Each answerable question's analysis and final query vector (rendering included)."""
    base = kb.retriever
    vectors = kb.embedder.embed_queries([q.question for q in questions])
    out = []
    for q, v in zip(questions, vectors, strict=True):
        a = base.analyse(q.question)
        if base.config.translate and a.language == "nl":
            v = base.with_english(a, v)
        out.append((q, a, v))
    return out


def score(kb, prepared, sources, **params) -> dict:
    """R@1 and R@5 per group for one setting."""
    trial = kb.retriever.configured(translate=False, **params)
    groups: dict[str, list[tuple[int, int]]] = {}
    ranks = {}
    for q, a, v in prepared:
        if not q.answerable:
            continue
        hits = select_diverse(trial.retrieve(a, k=candidates(10), vector=v), 10)
        flags = [any(matches(e, h.chunk, sources(h.chunk.document_id)) for e in q.expected)
                 for h in hits]  # fmt: skip
        first = flags.index(True) if True in flags else 99
        ranks[q.id] = first + 1
        for g in ("all", f"kind:{q.kind}", f"lang:{q.language}") + (
            ("cross-lingual",) if q.cross_lingual else ()
        ):
            groups.setdefault(g, []).append((first < 1, first < 5))
    out = {g: {"n": len(v), "r1": round(sum(a for a, _ in v) / len(v), 3),
               "r5": round(sum(b for _, b in v) / len(v), 3)} for g, v in groups.items()}  # fmt: skip
    out["_ranks"] = ranks
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("questions", nargs="+")
    p.add_argument("--json")
    p.add_argument("--only", help="one setting as JSON instead of the grid")
    args = p.parse_args()
    kb = KnowledgeBase.from_env()
    cache: dict[str, str] = {}

    def sources(doc_id: str) -> str:
        if doc_id not in cache:
            d = kb.store.document(doc_id)
            cache[doc_id] = d.source if d else ""
        return cache[doc_id]

    prepared = [x for path in args.questions for x in prepare(kb, load_questions(Path(path)))]
    only = json.loads(args.only) if args.only else None
    settings = ((only if isinstance(only, list) else [only]) if only else
                [dict(zip(GRID, vals, strict=True)) for vals in itertools.product(*GRID.values())])  # fmt: skip
    rows = []
    for s in settings:
        if (
            s.get("structure_weight") == 0
            and any(s.get(k) != GRID[k][0] for k in ("structure_rrf", "top_blocks", "facet_bonus"))
            and not args.only
        ):
            continue
        r = score(kb, prepared, sources, **s)
        rows.append({"setting": s, **r})
        g = r.get("kind:guide", {})
        print(json.dumps(s), "all", r["all"], "guide", g, "nl", r.get("lang:nl"),
              "xl", r.get("cross-lingual"), flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
