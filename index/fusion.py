"""The one place where rankings are combined: weighted reciprocal rank fusion.

Every hybrid search goes through `fuse`: the store's (one weight per ranking) and the
language-aware one (a weight per ranking and per item) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# A ranking's weight for one item: (is it the dense ranking, the item's id) -> weight.
ItemWeight = Callable[[bool, int], float]


def rrf(
    rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of ranked id lists: the sum of weight / (k + rank), each
    list's weight 1 unless given; best first."""
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, i in enumerate(ranking, start=1):
            scores[i] = scores.get(i, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda t: -t[1])


def dense_share(dense_weight: float) -> tuple[float, float]:
    """The (dense, lexical) weights for a dense ranking's share of the fusion: 0.5 gives
    both weight 1, plain RRF."""
    w = 2 * dense_weight
    return w, 2 - w


def fuse(
    dense: Sequence[int], lexical: Sequence[int], dense_weight: float, k: int,
    swapped: Callable[[int], bool] | None = None,
) -> list[tuple[int, float]]:
    """Weighted RRF of a dense and a lexical ranking, best first.

    Args:
        dense_weight: the dense ranking's share (the lexical ranking has the rest).
        k: the rank constant (smaller: the first ranks count more).
        swapped: items for which the two weights trade places (the dense model cannot
            read them, so the lexical ranking leads there).
    """
    if swapped is None:
        return rrf([dense, lexical], k=k, weights=dense_share(dense_weight))
    wd, wl = dense_share(dense_weight)
    scores: dict[int, float] = {}
    for ranking, is_dense in ((dense, True), (lexical, False)):
        for rank, i in enumerate(ranking, start=1):
            share = wd if is_dense else wl
            if swapped(i):
                share = wl if is_dense else wd
            scores[i] = scores.get(i, 0.0) + share / (k + rank)
    return sorted(scores.items(), key=lambda t: -t[1])
