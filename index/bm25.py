"""BM25 over chunk texts with bm25s, addressed by chunk row id like the vector index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.lexical import tokens

# Weight of the glossary's translations of the query's words against the words themselves.
# Swept 0.3-3 on the corpus questions (docs/benchmarks.md, "Retrieval quality"): the
# translations reach the other language's half of the corpus, the words only their own.
EXTRA_WEIGHT = 1.5


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

    def doc_freq(self, term: str) -> int:
        """How many rows hold this stemmed term."""
        if self.retriever is None:
            return 0
        i = self.retriever.vocab_dict.get(term)
        indptr = self.retriever.scores["indptr"]
        if i is None or i + 1 >= len(indptr):
            return 0
        return int(indptr[i + 1] - indptr[i])

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None,
        extra: Sequence[str] = (), extra_weight: float = EXTRA_WEIGHT,
    ) -> tuple[list[int], list[float]]:
        """The k best rows for a query; `extra` are stemmed terms added to it at
        `extra_weight` (the glossary's translations of its words)."""
        if self.retriever is None or k <= 0:
            return [], []
        vocab = self.retriever.vocab_dict
        q = [t for t in tokens(query) if t in vocab]
        more = [t for t in dict.fromkeys(extra) if t in vocab and t not in q]
        if not q and not more:
            return [], []
        mask = None
        if allowed is not None:
            mask = np.isin(self.rowids, allowed).astype(np.float32)
            if not mask.any():
                return [], []
        k = min(k, len(self.rowids))
        if more:
            scores = self.retriever.get_scores(more, weight_mask=mask) * extra_weight
            if q:
                scores = scores + self.retriever.get_scores(q, weight_mask=mask)
            top = np.argsort(-scores, kind="stable")[:k]
            return ([int(self.rowids[i]) for i in top if scores[i] > 0],
                    [float(scores[i]) for i in top if scores[i] > 0])  # fmt: skip
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

