"""Retrieval quality (`kb eval`): ranking metrics, the corpus questions and BEIR sets.

Two kinds of test set:

- the corpus questions (`corpus/eval/questions.yaml`), run against an existing store. Each
  question lists alternative places that answer it; the first retrieved chunk that matches
  any of them is *the* answer, so recall@k is "the answer is among the first k sources"
  and nDCG has one relevant item. Retrieval is what `kb ask` cites: the fused candidates,
  at most one chunk per page or section and two per document. Questions the corpus cannot
  answer are left out of the ranking metrics and score the "no answer" decision instead.
- a BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`), loaded into a
  throw-away store. Relevance is per document (its best-ranked chunk) and graded: nDCG uses
  the judgement scores as gains, recall@k is the share of a query's relevant documents
  in the first k.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from index.store import ChunkRow, DocumentRow, Hit
from ingest.records import Document, Segment
from kb.answer import select_diverse

K_VALUES = (1, 5, 10)
MODES = ("dense", "bm25", "hybrid")
METRICS = tuple(f"recall@{k}" for k in K_VALUES) + ("mrr@10", "ndcg@10")
# Candidates fetched per question before the per-page diversity cut, as `kb ask` does.
CANDIDATES = 40


# ---- metrics: pure functions of a ranked list of gains --------------------------------------
def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: the gain at rank r counts 1/log2(r + 1)."""
    return sum(g / math.log2(r + 1) for r, g in enumerate(gains, start=1))


def recall_at_k(gains: Sequence[float], n_relevant: int, k: int) -> float:
    """Share of the relevant items found in the first k (0 when nothing is relevant)."""
    if n_relevant <= 0:
        return 0.0
    return sum(1 for g in gains[:k] if g > 0) / n_relevant


def mrr_at_k(gains: Sequence[float], k: int) -> float:
    """1 / rank of the first relevant item within the first k, else 0."""
    for r, g in enumerate(gains[:k], start=1):
        if g > 0:
            return 1.0 / r
    return 0.0


def ndcg_at_k(gains: Sequence[float], ideal: Iterable[float], k: int) -> float:
    """DCG of the first k over the DCG of the best possible order of the relevant gains."""
    best = dcg(sorted((g for g in ideal if g > 0), reverse=True)[:k])
    return dcg(gains[:k]) / best if best > 0 else 0.0


@dataclass(frozen=True)
class Ranking:
    """One query's outcome: the gain of each ranked item (0 = not relevant), best first,
    and the gains of all its relevant items (for recall and the ideal order)."""

    id: str
    gains: tuple[float, ...]
    relevant: tuple[float, ...]

    def metrics(self) -> dict[str, float]:
        out = {f"recall@{k}": recall_at_k(self.gains, len(self.relevant), k) for k in K_VALUES}
        out["mrr@10"] = mrr_at_k(self.gains, 10)
        out["ndcg@10"] = ndcg_at_k(self.gains, self.relevant, 10)
        return out


def mean_metrics(rankings: Sequence[Ranking]) -> dict[str, float]:
    """The mean of every metric over the rankings, with their number as `n`."""
    out: dict[str, float] = {"n": len(rankings)}
    for name in METRICS:
        values = [r.metrics()[name] for r in rankings]
        out[name] = round(sum(values) / len(values), 4) if values else 0.0
    return out


def no_answer_scores(unanswerable: Sequence[bool], answered: Sequence[bool]) -> dict:
    """Precision and recall of saying "no answer" (the positive class).

    precision: of the questions given no answer, the share the corpus cannot answer;
    recall: of the questions the corpus cannot answer, the share given no answer.
    Either is None when its denominator is 0.
    """
    said_none = [not a for a in answered]
    tp = sum(1 for u, s in zip(unanswerable, said_none, strict=True) if u and s)
    fp = sum(1 for u, s in zip(unanswerable, said_none, strict=True) if s and not u)
    fn = sum(1 for u, s in zip(unanswerable, said_none, strict=True) if u and not s)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision and recall else 0.0)  # fmt: skip
    return {"precision": _r(precision), "recall": _r(recall), "f1": round(f1, 4),
            "true_no_answer": tp, "false_no_answer": fp, "missed_no_answer": fn}  # fmt: skip


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


# ---- the corpus questions -------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    kind: str
    cross_lingual: bool = False
    expected: tuple[Mapping, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.expected) and self.kind != "unanswerable"


def load_questions(path: Path) -> list[Question]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    items = data.get("questions", data) if isinstance(data, dict) else data
    return [
        Question(
            id=str(q["id"]), question=str(q["question"]), language=str(q.get("language", "")),
            kind=str(q.get("kind", "")), cross_lingual=bool(q.get("cross_lingual", False)),
            expected=tuple(q.get("expected") or ()),
        )  # fmt: skip
        for q in items
    ]


def _same_file(stored: str, expected: str) -> bool:
    stored = stored.replace("\\", "/")
    return stored == expected or stored.endswith("/" + expected)


def matches(expected: Mapping, chunk: ChunkRow, source: str) -> bool:
    """Does a retrieved chunk (of a document with this source file name) hold an expected item?

    {project: ID} matches the chunks of that project; {source: FILE, section: TEXT} the
    chunks of FILE whose heading path contains TEXT; {source: FILE, page: N} page N of FILE;
    {source: FILE} alone any chunk of FILE.
    """
    if "project" in expected:
        return chunk.project_id == str(expected["project"])
    if "source" not in expected or not _same_file(source, str(expected["source"])):
        return False
    if "page" in expected:
        return chunk.page == int(expected["page"])
    if "section" in expected:
        return str(expected["section"]).lower() in (chunk.section or "").lower()
    return True


def _groups(q: Question) -> list[str]:
    out = ["all", f"lang:{q.language}", f"kind:{q.kind}"]
    if q.cross_lingual:
        out.append("cross-lingual")
    return out


def _question_hits(kb, q: Question, vector, mode: str, k: int) -> list[Hit]:
    hits = kb.retrieve(q.question, k=max(CANDIDATES, 4 * k), mode=mode, vector=vector)
    return select_diverse(hits, k)


def evaluate_questions(kb, questions: Sequence[Question], mode: str = "hybrid", k: int = 10,
                       sweep: bool = False, progress: bool = False) -> dict:  # fmt: skip
    """Ranking metrics of the answerable questions per group, and the "no answer" decision
    (`KnowledgeBase.ask(...).answered`) over all questions; `mode` is used for both."""
    from tqdm import tqdm

    vectors = (kb.embedder.embed_queries([q.question for q in questions])
               if mode != "bm25" else [None] * len(questions))  # fmt: skip
    sources: dict[str, str] = {}

    def source_of(document_id: str) -> str:
        if document_id not in sources:
            doc = kb.store.document(document_id)
            sources[document_id] = doc.source if doc else ""
        return sources[document_id]

    rankings: dict[str, list[Ranking]] = {}
    misses, answered, ask_hits = [], [], []
    old_mode, kb.mode = kb.mode, mode
    start = time.perf_counter()
    try:
        bar = tqdm(list(zip(questions, vectors, strict=True)), desc=f"eval {mode}",
                   unit="q", disable=None if progress else True, leave=False)  # fmt: skip
        for q, vec in bar:
            if q.answerable:
                ranked = _question_hits(kb, q, vec, mode, k)
                flags = [
                    any(matches(e, h.chunk, source_of(h.chunk.document_id)) for e in q.expected)
                    for h in ranked
                ]
                first = flags.index(True) if True in flags else None
                gains = tuple(1.0 if i == first else 0.0 for i in range(len(ranked)))
                r = Ranking(q.id, gains, (1.0,))
                for g in _groups(q):
                    rankings.setdefault(g, []).append(r)
                if first is None or first >= 5:
                    top = ranked[0].chunk if ranked else None
                    misses.append({
                        "id": q.id, "language": q.language, "kind": q.kind,
                        "rank": None if first is None else first + 1, "question": q.question,
                        "top": f"{source_of(top.document_id)} {_where(top)}" if top else "",
                    })  # fmt: skip
            answered.append(kb.ask(q.question).answered)
            if sweep:
                ask_hits.append(_question_hits(kb, q, vec, mode, 5))
    finally:
        kb.mode = old_mode
    seconds = time.perf_counter() - start
    order = ["all", "lang:nl", "lang:en", "cross-lingual"]
    order += sorted(g for g in rankings if g.startswith("kind:"))
    order += sorted(g for g in rankings if g not in order)
    report = {
        "mode": mode,
        "groups": {g: mean_metrics(rankings[g]) for g in order if g in rankings},
        "no_answer": no_answer_scores([not q.answerable for q in questions], answered),
        "no_answer_errors": [
            {"id": q.id, "kind": q.kind, "answered": a, "question": q.question}
            for q, a in zip(questions, answered, strict=True) if a != q.answerable
        ],  # fmt: skip
        "misses": misses,
        "seconds": round(seconds, 2),
    }
    if sweep:
        report["sweep"] = sweep_thresholds(kb, questions, ask_hits)
    return report


def _where(chunk: ChunkRow) -> str:
    if chunk.project_id:
        return f"project {chunk.project_id}"
    if chunk.page is not None:
        return f"p. {chunk.page}"
    return chunk.section or ""


# 0.20 .. 0.95 by 0.01: the default model's cosines sit low, multilingual-e5-small's high
# and close together (0.79-0.92 on the corpus questions).
SCORE_GRID = tuple(round(0.20 + 0.01 * i, 3) for i in range(76))
COVERAGE_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, math.inf)  # inf: no lexical route


def sweep_thresholds(kb, questions: Sequence[Question], hits: Sequence[list[Hit]]) -> dict:
    """The "no answer" scores of `KnowledgeBase.confident` for each pair of thresholds
    (dense cosine, term coverage), on the hits `ask` decides from; the best pair by F1,
    ties broken towards the current values."""
    unanswerable = [not q.answerable for q in questions]
    saved = kb.min_score, kb.min_coverage
    rows = []
    try:
        for score in SCORE_GRID:
            for coverage in COVERAGE_GRID:
                kb.min_score, kb.min_coverage = score, coverage
                answered = [kb.confident(q.question, h)
                            for q, h in zip(questions, hits, strict=True)]  # fmt: skip
                s = no_answer_scores(unanswerable, answered)
                answerable_lost = sum(1 for u, a in zip(unanswerable, answered, strict=True)
                                      if not u and not a)  # fmt: skip
                cov = None if math.isinf(coverage) else coverage
                rows.append({"min_score": score, "min_coverage": cov, **s,
                             "answerable_refused": answerable_lost})  # fmt: skip
    finally:
        kb.min_score, kb.min_coverage = saved

    def closeness(row) -> float:
        cov = row["min_coverage"] if row["min_coverage"] is not None else 2.0
        return abs(row["min_score"] - saved[0]) + abs(cov - saved[1])

    best = max(rows, key=lambda r: (r["f1"], -closeness(r)))
    return {"current": {"min_score": saved[0], "min_coverage": saved[1]}, "best": best,
            "grid": rows}  # fmt: skip


# ---- BEIR -----------------------------------------------------------------------------------
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
        chunks = kb.chunker.chunk(doc)
        if not chunks:
            continue
        docs.append(doc)
        rows.append([
            ChunkRow(id=c.id, document_id=c.document_id, position=c.position, text=c.text,
                embed_text=kb._embed_text(doc, c), kind=c.kind, page=c.page, section=c.section)
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
        hits = kb.retrieve(text, k=depth, mode=mode, vector=vec)
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


def run_beir(folder: Path, modes: Sequence[str], embedder=None, workdir: Path | None = None,
             limit: int | None = None, progress: bool = False) -> dict:  # fmt: skip
    """Load a BEIR folder into a throw-away store (a temporary folder, or `workdir`, reused
    when it already holds this set) and evaluate each mode."""
    from index.embedder import make_embedder
    from kb import settings
    from kb.core import KnowledgeBase

    beir = load_beir(folder)
    embedder = embedder or make_embedder(settings.get("KB_EMBED_MODEL"))
    signature = {"set": str(Path(folder).resolve()), "documents": len(beir.corpus),
                 "model": embedder.fingerprint}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        home = Path(workdir) if workdir else Path(tmp)
        kb = KnowledgeBase(home, embedder=embedder, check_model=False)
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


def run_questions(path: Path, modes: Sequence[str], kb=None, limit: int | None = None,
                  sweep: bool = False, progress: bool = False) -> dict:  # fmt: skip
    """The corpus questions against the user's store (KB_HOME unless a KnowledgeBase is given)."""
    from kb.core import KnowledgeBase

    questions = load_questions(path)[:limit] if limit else load_questions(path)
    own = kb is None
    kb = kb or KnowledgeBase()
    try:
        stats = kb.stats()
        if not stats["chunks"]:
            raise ValueError(f"the store in {kb.home} is empty: run `kb ingest corpus` first")
        results = {m: evaluate_questions(kb, questions, m, sweep=sweep and m == "hybrid",
                                         progress=progress) for m in modes}  # fmt: skip
    finally:
        if own:
            kb.close()
    return {"set": "questions", "path": str(path), "questions": len(questions),
            "answerable": sum(q.answerable for q in questions),
            "documents": stats["documents"], "chunks": stats["chunks"],
            "model": stats["model"], "modes": results}  # fmt: skip


# ---- output ---------------------------------------------------------------------------------
def render(report: dict, echo: Callable[[str], None]) -> None:
    """The human-readable tables of a run_questions / run_beir report."""
    head = (f"{report['set']}: {report.get('documents', '?')} documents, "
            f"{report.get('chunks', '?')} chunks")  # fmt: skip
    if "questions" in report:
        head += f", {report['questions']} questions ({report['answerable']} answerable)"
    echo(head)
    cols = ("n",) + METRICS
    for mode, res in report["modes"].items():
        echo(f"\nmode {mode} ({res['seconds']} s)")
        echo(f"  {'group':<20}" + "".join(f"{c:>10}" for c in cols))
        for group, m in res["groups"].items():
            echo(f"  {group:<20}" + f"{m['n']:>10}" + "".join(f"{m[c]:>10.3f}" for c in METRICS))
        if "no_answer" in res:
            na = res["no_answer"]
            fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            echo(f"  no answer: precision {fmt(na['precision'])}, recall {fmt(na['recall'])} "
                 f"({na['true_no_answer']} right, {na['false_no_answer']} answerable refused, "
                 f"{na['missed_no_answer']} unanswerable answered)")  # fmt: skip
            for e in res["no_answer_errors"]:
                what = "answered" if e["answered"] else "refused"
                echo(f"    {what}: {e['id']} ({e['kind']}) {e['question'][:80]}")
        if res.get("misses"):
            echo("  not in the top 5:")
            for m in res["misses"]:
                rank = m["rank"] or "-"
                echo(f"    {m['id']} ({m['language']}, {m['kind']}, rank {rank}) "
                     f"{m['question'][:70]}  | top: {m['top'][:60]}")  # fmt: skip
        if "sweep" in res:
            s = res["sweep"]
            b = s["best"]
            echo(f"  threshold sweep: current min_score {s['current']['min_score']}, min_coverage "
                 f"{s['current']['min_coverage']}; best by F1: min_score {b['min_score']}, "
                 f"min_coverage {b['min_coverage']} -> precision {b['precision']}, recall "
                 f"{b['recall']}, answerable refused {b['answerable_refused']}")  # fmt: skip
