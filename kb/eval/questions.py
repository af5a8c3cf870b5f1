"""The corpus questions (`corpus/eval/*.yaml`), run against an existing store.

Each question lists alternative places that answer it; the first retrieved chunk that
matches any of them is *the* answer, so recall@k is "the answer is among the first k
sources" and nDCG has one relevant item. Retrieval is what `kb ask` cites: the fused
candidates, at most one chunk per page or section and two per document. Questions the
corpus cannot answer are left out of the ranking metrics and score the "no answer"
decision instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from index.store import ChunkRow, Hit
from kb.answer import select_diverse
from kb.asking import Answerer
from kb.eval.metrics import Ranking, mean_metrics, no_answer_scores
from kb.retrieval import Retriever, candidates


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


def same_file(stored: str, expected: str) -> bool:
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
    if "source" not in expected or not same_file(source, str(expected["source"])):
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


def _question_hits(retriever: Retriever, q: Question, vector, k: int) -> list[Hit]:
    hits = retriever.retrieve(q.question, k=candidates(k), vector=vector)
    return select_diverse(hits, k)


def evaluate_questions(kb, questions: Sequence[Question], mode: str = "hybrid", k: int = 10,
                       sweep: bool = False, progress: bool = False) -> dict:  # fmt: skip
    """Ranking metrics of the answerable questions per group, and the "no answer" decision
    (`KnowledgeBase.ask(...).answered`) over all questions; `mode` is used for both."""
    from tqdm import tqdm

    retriever = kb.retriever.configured(mode=mode)
    answerer = Answerer(kb.store, retriever, kb.catalogue)
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
    start = time.perf_counter()
    bar = tqdm(list(zip(questions, vectors, strict=True)), desc=f"eval {mode}",
               unit="q", disable=None if progress else True, leave=False)  # fmt: skip
    for q, vec in bar:
        if q.answerable:
            ranked = _question_hits(retriever, q, vec, k)
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
        answered.append(answerer.ask(q.question).answered)
        if sweep:
            ask_hits.append(_question_hits(retriever, q, vec, 5))
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
        report["sweep"] = sweep_thresholds(retriever, questions, ask_hits)
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


def sweep_thresholds(retriever: Retriever, questions: Sequence[Question],
                     hits: Sequence[list[Hit]]) -> dict:  # fmt: skip
    """The "no answer" scores of `Retriever.confident` for each pair of thresholds
    (dense cosine, term coverage), on the hits `ask` decides from; the best pair by F1,
    ties broken towards the current values."""
    unanswerable = [not q.answerable for q in questions]
    saved = retriever.config.min_score, retriever.config.min_coverage
    rows = []
    for score in SCORE_GRID:
        for coverage in COVERAGE_GRID:
            trial = retriever.configured(min_score=score, min_coverage=coverage)
            answered = [trial.confident(q.question, h)
                        for q, h in zip(questions, hits, strict=True)]  # fmt: skip
            s = no_answer_scores(unanswerable, answered)
            answerable_lost = sum(1 for u, a in zip(unanswerable, answered, strict=True)
                                  if not u and not a)  # fmt: skip
            cov = None if math.isinf(coverage) else coverage
            rows.append({"min_score": score, "min_coverage": cov, **s,
                         "answerable_refused": answerable_lost})  # fmt: skip

    def closeness(row) -> float:
        cov = row["min_coverage"] if row["min_coverage"] is not None else 2.0
        return abs(row["min_score"] - saved[0]) + abs(cov - saved[1])

    best = max(rows, key=lambda r: (r["f1"], -closeness(r)))
    return {"current": {"min_score": saved[0], "min_coverage": saved[1]}, "best": best,
            "grid": rows}  # fmt: skip


def run_questions(path: Path, modes: Sequence[str], kb, limit: int | None = None,
                  sweep: bool = False, progress: bool = False) -> dict:  # fmt: skip
    """The corpus questions against the store of `kb`."""
    questions = load_questions(path)[:limit] if limit else load_questions(path)
    stats = kb.stats()
    if not stats["chunks"]:
        raise ValueError(f"the store in {kb.home} is empty: run `kb ingest corpus` first")
    results = {m: evaluate_questions(kb, questions, m, sweep=sweep and m == "hybrid",
                                     progress=progress) for m in modes}  # fmt: skip
    return {"set": "questions", "path": str(path), "questions": len(questions),
            "answerable": sum(q.answerable for q in questions),
            "documents": stats["documents"], "chunks": stats["chunks"],
            "model": stats["model"], "modes": results}  # fmt: skip
