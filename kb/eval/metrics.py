"""Ranking metrics: pure functions of a ranked list of gains, and the "no answer" scores."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

K_VALUES = (1, 5, 10)
MODES = ("dense", "bm25", "hybrid")
METRICS = tuple(f"recall@{k}" for k in K_VALUES) + ("mrr@10", "ndcg@10")
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
