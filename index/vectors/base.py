"""What the store needs of a vector index, whatever engine holds the vectors.

A backend (FAISS today; a distributed engine later) is one class that offers these members,
plus one entry in `index.vectors.factory`. Vectors are normalised, so the score is the inner
product; every vector is addressed by the chunk's row id (int64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorIndex(Protocol):
    """Inner-product search over vectors addressed by id, with an optional id filter."""

    dim: int

    @property
    def kind(self) -> str:
        """The index type in use, e.g. 'flat' or 'ivf' (the manifest records `describe`)."""
        ...

    @property
    def ntotal(self) -> int:
        """How many vectors the index holds."""
        ...

    def describe(self) -> str:
        """The type with its parameters, for the manifest and `kb stats`."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under these ids (the index may change type as it grows)."""
        ...

    def remove(self, ids: np.ndarray) -> None:
        """Remove the vectors of these ids (ids the index does not hold are ignored)."""
        ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[int], list[float]]:
        """The k best ids and their scores, best first; only ids in `allowed` if given."""
        ...

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these ids, one row each."""
        ...

    def ids(self) -> np.ndarray:
        """Every id held."""
        ...

    def all(self, vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every id and (unless vectors=False) its vector."""
        ...

    def write(self, path: Path) -> None:
        """Save the index to one file (read back with `index.vectors.factory.load_index`)."""
        ...
