"""Table questions on the DUS-I monitoring report: R@5 before and after table rendering.

Ingests the one PDF into a throw-away KB_HOME with the real default model, through
`kb.core.KnowledgeBase` (public `ingest` and `retrieve` only), once with tables rendered as
header-carrying rows (the default) and once without (`tables=False`, as before #15), and
checks for each question in `corpus/eval/tables.yaml` whether an expected page is among the
top 5 hits.

    OMP_NUM_THREADS=1 .venv/bin/python bench/tables.py [--pdf PATH] [--k 5]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PDF = ROOT.parent / "shared" / "data" / "pdfs" / "nl-dusi-rif-monitorrapportage-2023.pdf"


def run(pdf: Path, questions: list[dict], tables: bool, k: int, embedder) -> tuple[int, list]:
    import kb.core
    from ingest.loader import load_file

    # The "before" run reads the PDF as the loader did before #15's table rendering; the
    # switch is the loader's own `tables` keyword (kb passes only the settings it knows).
    original = kb.core.load_file
    kb.core.load_file = functools.partial(load_file, tables=tables)
    try:
        with tempfile.TemporaryDirectory(prefix="kb-bench-tables-") as home:
            base = kb.core.KnowledgeBase(Path(home), embedder=embedder)
            [result] = base.ingest([pdf])
            assert result.status == "added", result.reason
            hits_at_k, rows = 0, []
            for q in questions:
                pages = {e["page"] for e in q["expected"]}
                got = [h.chunk.page for h in base.retrieve(q["question"], k=k)]
                ok = bool(pages & set(got))
                hits_at_k += ok
                rows.append((q["id"], ok, sorted(pages), got))
            base.close()
    finally:
        kb.core.load_file = original
    return hits_at_k, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdf", type=Path, default=PDF)
    ap.add_argument("--questions", type=Path, default=ROOT / "corpus/eval/tables.yaml")
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    from index.embedder import SentenceTransformerEmbedder

    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    embedder = SentenceTransformerEmbedder()
    for label, tables in (("before (raw page text)", False), ("after (rows with headers)", True)):
        t = time.perf_counter()
        n, rows = run(args.pdf, questions, tables, args.k, embedder)
        print(f"{label}: R@{args.k} = {n}/{len(questions)} = {n / len(questions):.2f} "
              f"({time.perf_counter() - t:.0f} s)")  # fmt: skip
        for qid, ok, want, got in rows:
            print(f"  {qid} {'hit ' if ok else 'miss'} expected {want} top {got}")


if __name__ == "__main__":
    main()
