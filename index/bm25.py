"""BM25 over chunk texts with bm25s, addressed by chunk row id like the vector index."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.lexical import tokens


class Bm25Index:
    def __init__(self, retriever=None, rowids: np.ndarray | None = None):
        self.retriever = retriever
        self.rowids = rowids if rowids is not None else np.zeros(0, dtype=np.int64)

    @classmethod
    def build(cls, rowids: list[int], texts: list[str]) -> Bm25Index:
        import bm25s

        if not texts:
            return cls()
        retriever = bm25s.BM25()
        retriever.index([tokens(t) or ["\x00"] for t in texts], show_progress=False)
        return cls(retriever, np.array(rowids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.rowids)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[int], list[float]]:
        if self.retriever is None or k <= 0:
            return [], []
        vocab = self.retriever.vocab_dict
        q = [t for t in tokens(query) if t in vocab]
        if not q:
            return [], []
        mask = None
        if allowed is not None:
            mask = np.isin(self.rowids, allowed).astype(np.float32)
            if not mask.any():
                return [], []
        k = min(k, len(self.rowids))
        idx, scores = self.retriever.retrieve(
            [q], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        ids, out = [], []
        for i, s in zip(idx[0], scores[0], strict=True):
            if s > 0:
                ids.append(int(self.rowids[i]))
                out.append(float(s))
        return ids, out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.retriever is not None:
            self.retriever.save(str(folder), show_progress=False)
        np.save(folder / "rowids.npy", self.rowids)

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        import bm25s

        rowids = np.load(folder / "rowids.npy")
        if not len(rowids):
            return cls()
        retriever = bm25s.BM25.load(str(folder), show_progress=False)
        return cls(retriever, rowids)


def rrf(
    rankings: list[list[int]], k: int = 60, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several ranked id lists: sum of weight/(k + rank), each
    list's weight 1 unless given."""
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, i in enumerate(ranking, start=1):
            scores[i] = scores.get(i, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda t: -t[1])
