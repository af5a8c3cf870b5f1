"""Warm question latency on an existing store: our `ask` and `retrieve` against the LangChain
recipe's `similarity_search` with the same model, interleaved question by question.

The recipe's FAISS store is built from the store's own chunks and vectors
(`FAISS.from_embeddings`), so no second ingest is needed; its search is a flat inner
product over a few hundred vectors either way, and its cost is the question's embedding
through the LangChain `Embeddings` (bench/perf.py's adapter).

  KB_HOME=/tmp/kbe5 KB_EMBED_MODEL=multilingual-e5-small .venv/bin/kb ingest corpus -q
  .venv/bin/python bench/query_latency.py --store /tmp/kbe5 --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--model", default="")
    ap.add_argument("--n", type=int, default=60, help="questions per pipeline")
    a = ap.parse_args()
    from langchain_community.vectorstores import FAISS
    from perf import QUESTIONS, Recipe

    from index.embedders import make_embedder
    from kb.core import KnowledgeBase

    emb = make_embedder(a.model)
    with tempfile.TemporaryDirectory(prefix="qlat-") as tmp:
        home = Path(tmp) / "store"
        shutil.copytree(a.store, home)
        kb = KnowledgeBase(home, embedder=emb)
        rows = list(kb.store.iter_chunks())
        vecs = kb.store.vectors_of([r.rowid for r in rows])
        recipe = Recipe(emb)
        lc = FAISS.from_embeddings(
            [(r.text, v.tolist()) for r, v in zip(rows, vecs, strict=True)], recipe.embeddings
        )
        for q in QUESTIONS[:2]:  # warm
            kb.ask(q), kb.retrieve(q, k=10), lc.similarity_search(q, k=10)
        times: dict[str, list[float]] = {"ask": [], "retrieve": [], "recipe": []}
        for i in range(a.n):
            q = QUESTIONS[i % len(QUESTIONS)]
            for key, call in (("ask", lambda q=q: kb.ask(q)),
                              ("retrieve", lambda q=q: kb.retrieve(q, k=10)),
                              ("recipe", lambda q=q: lc.similarity_search(q, k=10))):  # fmt: skip
                t = time.perf_counter()
                call()
                times[key].append((time.perf_counter() - t) * 1000)
        kb.close()
    out = {"model": emb.name, "chunks": len(rows), "n": a.n, "load": os.getloadavg()[0]}
    for key, v in times.items():
        out[key] = {"p50": statistics.median(v), "p90": sorted(v)[int(0.9 * len(v))]}
    out["ask_over_recipe"] = out["ask"]["p50"] / out["recipe"]["p50"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
