"""BEIR sets (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`), loaded into a throw-away
store. Relevance is per document (its best-ranked chunk) and graded: nDCG uses the judgement
scores as gains, recall@k is the share of a query's relevant documents in the first k."""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.embedder import make_embedder
from index.store import ChunkRow, DocumentRow
from ingest.records import Document, Segment
from kb.eval.metrics import Ranking, mean_metrics
from kb.settings import Settings


@dataclass
class BeirSet:
    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)  # query -> doc -> grade


def _jsonl(path: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """A BEIR folder. The qrels file may or may not start with a header line; judgements of
    documents that are not in the corpus (a subsampled set) are dropped."""
    folder = Path(folder)
    corpus = {str(d["_id"]): (str(d.get("title") or ""), str(d.get("text") or ""))
              for d in _jsonl(folder / "corpus.jsonl")}  # fmt: skip
    queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3:
                continue
            try:
                grade = int(float(row[2]))
            except ValueError:  # the header line
                continue
            if row[1] in corpus:
                qrels.setdefault(row[0], {})[row[1]] = grade
    return BeirSet(folder.name, corpus, queries, qrels)


def beir_document(doc_id: str, title: str, text: str) -> Document:
    return Document(
        id=hashlib.sha256(f"beir\x00{doc_id}".encode()).hexdigest(), key=f"beir:{doc_id}",
        source=doc_id, title=title, kind="other", segments=(Segment(text or title),),
    )  # fmt: skip


def build_beir_store(kb, beir: BeirSet, batch: int = 1024, progress: bool = False) -> dict:
    """Chunk every corpus document, embed all chunks in large batches, and write them in
    one transaction (replacing whatever the store held). Returns counts and timings."""
    import numpy as np
    from tqdm import tqdm

    start = time.perf_counter()
    docs, rows = [], []
    for doc_id, (title, text) in tqdm(beir.corpus.items(), desc="chunk", unit="doc",
                                      disable=None if progress else True, leave=False):  # fmt: skip
        doc = beir_document(doc_id, title, text)
        chunks = kb.ingestor.chunker.chunk(doc)
        if not chunks:
            continue
        docs.append(doc)
        rows.append([
            ChunkRow(id=c.id, document_id=c.document_id, position=c.position, text=c.text,
                embed_text=kb.ingestor.embed_text(doc, c), kind=c.kind, page=c.page,
                section=c.section)
            for c in chunks
        ])  # fmt: skip
    texts = [r.embed_text for doc_rows in rows for r in doc_rows]
    parts = []
    for i in tqdm(range(0, len(texts), batch), desc="embed", unit="batch",
                  disable=None if progress else True, leave=False):  # fmt: skip
        parts.append(kb.embedder.embed_documents(texts[i : i + batch]))
    vectors = np.concatenate(parts) if parts else np.zeros((0, kb.embedder.dim), dtype=np.float32)
    entries, at = [], 0
    for doc, doc_rows in zip(docs, rows, strict=True):
        row = DocumentRow(id=doc.id, key=doc.key, source=doc.source, title=doc.title, kind=doc.kind)
        entries.append((row, doc_rows, vectors[at : at + len(doc_rows)]))
        at += len(doc_rows)
    e = kb.embedder
    kb.store.replace_all((e.name, e.dim, e.fingerprint), entries)
    kb.store.bm25  # noqa: B018 - build the lexical index now, not inside the timed queries
    return {"documents": len(docs), "chunks": len(texts),
            "build_seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


def evaluate_beir(kb, beir: BeirSet, mode: str = "hybrid", limit: int | None = None,
                  depth: int = 50, progress: bool = False) -> dict:  # fmt: skip
    """Document-level metrics over the judged queries (those with a relevant document)."""
    from tqdm import tqdm

    retriever = kb.retriever.configured(mode=mode)
    by_doc = {beir_document(d, "", "").id: d for d in beir.corpus}
    qids = [q for q in beir.queries if any(g > 0 for g in beir.qrels.get(q, {}).values())]
    qids = qids[:limit] if limit else qids
    texts = [beir.queries[q] for q in qids]
    vectors = kb.embedder.embed_queries(texts) if mode != "bm25" and texts else [None] * len(qids)
    rankings = []
    start = time.perf_counter()
    items = list(zip(qids, texts, vectors, strict=True))
    bar = tqdm(items, desc=f"eval {mode}", unit="q", disable=None if progress else True,
               leave=False)  # fmt: skip
    for qid, text, vec in bar:
        hits = retriever.retrieve(text, k=depth, vector=vec)
        ranked: list[str] = []
        for h in hits:  # a document ranks where its best chunk does
            d = by_doc.get(h.chunk.document_id)
            if d is not None and d not in ranked:
                ranked.append(d)
        grades = beir.qrels[qid]
        rankings.append(Ranking(
            qid, tuple(float(max(grades.get(d, 0), 0)) for d in ranked[:10]),
            tuple(float(g) for g in grades.values() if g > 0),
        ))  # fmt: skip
    return {"mode": mode, "groups": {"all": mean_metrics(rankings)},
            "seconds": round(time.perf_counter() - start, 2)}  # fmt: skip


def run_beir(folder: Path, modes: Sequence[str], settings: Settings, workdir: Path | None = None,
             limit: int | None = None, progress: bool = False) -> dict:  # fmt: skip
    """Load a BEIR folder into a throw-away store (a temporary folder, or `workdir`, reused
    when it already holds this set) and evaluate each mode."""
    from kb.core import KnowledgeBase

    beir = load_beir(folder)
    embedder = make_embedder(settings.embed_model)
    signature = {"set": str(Path(folder).resolve()), "documents": len(beir.corpus),
                 "model": embedder.fingerprint}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        home = Path(workdir) if workdir else Path(tmp)
        kb = KnowledgeBase(home, embedder=embedder, check_model=False, settings=settings)
        try:
            if kb.store.manifest_json("beir") == signature:
                built = {**kb.store.counts(), "reused": str(home)}
                built = {k: built[k] for k in ("documents", "chunks", "reused")}
            else:
                built = build_beir_store(kb, beir, progress=progress)
                kb.store.set_manifest_json("beir", signature)
            results = {m: evaluate_beir(kb, beir, m, limit=limit, progress=progress) for m in modes}
        finally:
            kb.close()
    return {"set": beir.name, "path": str(folder), **built, "modes": results}
