"""Sweep the hybrid fusion (RRF constant, candidate depth, dense weight) on stored rankings.

Each query's dense and BM25 candidate lists are fetched once; every fusion setting is then
scored from them. Needs stores built by `kb eval` (BEIR: `--store DIR`; questions: KB_HOME).

    .venv/bin/python bench/fusion_sweep.py \
        --beir ../shared/data/beir/msmarco --store /tmp/beir-msmarco
    KB_HOME=/tmp/kbeval .venv/bin/python bench/fusion_sweep.py \
        --questions corpus/eval/questions.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import kb.eval as ev
from index.store import Hit
from kb.answer import select_diverse
from kb.core import KnowledgeBase

RRF_K = (10, 30, 60, 100)
DEPTHS = (20, 50, 100)
DENSE_WEIGHTS = (0.3, 0.5, 0.7)


def fuse(dense: list[int], lexical: list[int], k: int, depth: int, w: float) -> list[int]:
    scores: dict[int, float] = {}
    for weight, ranking in ((w, dense[:depth]), (1 - w, lexical[:depth])):
        for rank, i in enumerate(ranking, start=1):
            scores[i] = scores.get(i, 0.0) + weight / (k + rank)
    return [i for i, _ in sorted(scores.items(), key=lambda t: -t[1])]


def candidates(kb: KnowledgeBase, texts: list[str]) -> list[tuple[list[int], list[int]]]:
    vectors = kb.embedder.embed_queries(texts)
    out = []
    for text, vec in zip(texts, vectors, strict=True):
        d, _ = kb.store.vectors.search(vec, max(DEPTHS))
        b, _ = kb.store.bm25.search(text, max(DEPTHS))
        out.append((d, b))
    return out


def beir_scorer(kb: KnowledgeBase, folder: Path):
    beir = ev.load_beir(folder)
    by_doc = {ev.beir_document(d, "", "").id: d for d in beir.corpus}
    qids = [q for q in beir.queries if any(g > 0 for g in beir.qrels.get(q, {}).values())]
    cands = candidates(kb, [beir.queries[q] for q in qids])
    doc_of = {c.rowid: by_doc[c.document_id] for c in kb.store.iter_chunks()}

    def score(rank_of) -> dict:
        out = []
        for qid, (d, b) in zip(qids, cands, strict=True):
            ranked: list[str] = []
            for i in rank_of(d, b):
                if doc_of[i] not in ranked:
                    ranked.append(doc_of[i])
            g = beir.qrels[qid]
            out.append(ev.Ranking(qid, tuple(float(g.get(x, 0)) for x in ranked[:10]),
                                  tuple(float(v) for v in g.values() if v > 0)))  # fmt: skip
        return ev.mean_metrics(out)

    return score


def question_scorer(kb: KnowledgeBase, path: Path, language: str | None = None):
    qs = [q for q in ev.load_questions(path) if q.answerable]
    qs = [q for q in qs if language in (None, q.language)]
    cands = candidates(kb, [q.question for q in qs])
    chunks = {c.rowid: c for c in kb.store.iter_chunks()}
    sources = {d.id: d.source for d in kb.store.documents()}

    def score(rank_of) -> dict:
        out = []
        for q, (d, b) in zip(qs, cands, strict=True):
            hits = [Hit(chunks[i], 0.0, 0.0) for i in rank_of(d, b)[: ev.CANDIDATES]]
            ranked = select_diverse(hits, 10)
            flags = [any(ev.matches(e, h.chunk, sources[h.chunk.document_id]) for e in q.expected)
                     for h in ranked]  # fmt: skip
            first = flags.index(True) if True in flags else None
            out.append(ev.Ranking(q.id, tuple(1.0 if i == first else 0.0
                                              for i in range(len(ranked))), (1.0,)))  # fmt: skip
        return ev.mean_metrics(out)

    return score


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--beir", type=Path)
    p.add_argument("--store", type=Path, help="the store `kb eval --beir ... --store` built")
    p.add_argument("--questions", type=Path)
    p.add_argument("--language")
    p.add_argument("--k", default=",".join(map(str, RRF_K)), help="RRF constants, comma-separated")
    p.add_argument("--depth", default=",".join(map(str, DEPTHS)))
    p.add_argument("--weights", default=",".join(map(str, DENSE_WEIGHTS)))
    a = p.parse_args()
    kb = KnowledgeBase(a.store) if a.store else KnowledgeBase()
    score = (beir_scorer(kb, a.beir) if a.beir
             else question_scorer(kb, a.questions, a.language))  # fmt: skip
    cols = ("recall@1", "recall@5", "mrr@10", "ndcg@10")
    print(f"{'setting':<28}" + "".join(f"{c:>10}" for c in cols))

    def row(name, rank_of):
        m = score(rank_of)
        print(f"{name:<28}" + "".join(f"{m[c]:>10.3f}" for c in cols), flush=True)

    row("dense", lambda d, b: d)
    row("bm25", lambda d, b: b)
    for depth in map(int, a.depth.split(",")):
        for k in map(int, a.k.split(",")):
            for w in map(float, a.weights.split(",")):
                row(f"rrf k={k} depth={depth} w={w}", lambda d, b, k=k, depth=depth, w=w:
                    fuse(d, b, k, depth, w))  # fmt: skip


if __name__ == "__main__":
    main()
