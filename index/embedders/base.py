"""What every embedder shares: the interface, the error, vector normalising, thread helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; inner product is cosine similarity.

    Besides these, an embedder may carry `min_score` (its own "no answer" threshold) and
    `fusion` (its own hybrid weights by language), which KnowledgeBase reads when present.
    """

    name: str
    dim: int
    max_tokens: int  # the model's window, special tokens included
    fingerprint: str
    multilingual: bool  # Dutch and English in one vector space (no query rendering needed)

    def count_tokens(self, text: str) -> int: ...
    def embed_documents(self, texts: list[str]) -> np.ndarray: ...
    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class EmbedderUnavailable(RuntimeError):
    """The embedding model a setting names cannot be loaded (unknown, or not installed)."""


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as they are), float32, C-contiguous."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms)


def physical_cores() -> int:
    """CPU cores this process may use, counting hyper-threads of one core once."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    try:
        cores, phys = set(), None
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "physical id":
                    phys = value.strip()
                elif key.strip() == "core id":
                    cores.add((phys, value.strip()))
        if cores:
            return max(1, min(usable, len(cores)))
    except OSError:
        pass
    return max(1, usable)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch's operators on n threads for the duration (then as before)."""
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)
