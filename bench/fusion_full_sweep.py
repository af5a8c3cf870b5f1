"""Sweep the hybrid fusion weights through the whole `retrieve()` (glossary expansion, the
guide's structure ranking, the "no answer" decision), unlike bench/fusion_sweep.py, which
scores stored dense/BM25 rankings alone.

    KB_HOME=STORE python bench/fusion_full_sweep.py corpus/eval/dev.yaml corpus/eval/questions.yaml

Tune on dev.yaml and questions.yaml only, never on test.yaml.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.core import KnowledgeBase  # noqa: E402
from kb.eval.questions import evaluate_questions, load_questions  # noqa: E402

DUTCH = ((0.3, 10), (0.3, 60), (0.5, 10), (0.5, 60), (0.7, 10), (0.7, 60))
ENGLISH = ((0.5, 10), (0.8, 10))


def main() -> None:
    kb = KnowledgeBase.from_env()
    base = kb.retriever
    sets = {Path(p).stem: load_questions(Path(p)) for p in sys.argv[1:]}
    for nl, en in itertools.product(DUTCH, ENGLISH):
        kb.retriever = base.configured(fusion={**base.config.fusion, "nl": nl, "en": en})
        cols = []
        for name, questions in sets.items():
            r = evaluate_questions(kb, questions, "hybrid")
            g, na = r["groups"], r["no_answer"]
            cols.append(f"{name}: R@1 {g['all']['recall@1']:.3f} R@5 {g['all']['recall@5']:.3f} "
                        f"guide R@5 {g['kind:guide']['recall@5']:.3f} "
                        f"no answer {na['precision']:.2f}/{na['recall']:.2f}")  # fmt: skip
        print(f"nl={nl} en={en} | " + " | ".join(cols), flush=True)


if __name__ == "__main__":
    main()
