"""The one place that picks a vector index: the backend, and through it the type by size.

A second backend is a module with a class that satisfies `VectorIndex` and offers
`build(dim, ids, vectors, limit)` and `read(path, limit)`, plus one entry in `BACKENDS` (and
its file suffix in `SUFFIXES`, so that `load_index` recognises its files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.vectors.base import VectorIndex
from index.vectors.faiss_index import FLAT_MAX, FaissIndex

BACKENDS = {"faiss": FaissIndex}
SUFFIXES = {".faiss": "faiss"}
DEFAULT_BACKEND = "faiss"


def _backend(name: str):
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown vector index backend {name!r}: one of {', '.join(sorted(BACKENDS))}"
        ) from None


def make_index(
    dim: int,
    ids: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
    flat_max: int = FLAT_MAX,
    backend: str = DEFAULT_BACKEND,
) -> VectorIndex:
    """An index of `dim`-dimensional vectors holding these ids and vectors (empty if none).

    The type follows the size as the backend decides (FAISS: exact below `flat_max`
    vectors, IVF from there); `flat_max` stays with the index, which changes type by it as
    it grows and shrinks.
    """
    ids = np.zeros(0, np.int64) if ids is None else ids
    vectors = np.zeros((0, dim), np.float32) if vectors is None else vectors
    return _backend(backend).build(dim, ids, vectors, limit=flat_max)


def load_index(path: Path, flat_max: int = FLAT_MAX) -> VectorIndex:
    """An index saved by `VectorIndex.write`; the backend is known by the file's suffix."""
    name = SUFFIXES.get(Path(path).suffix)
    if name is None:
        raise ValueError(f"{path}: not a vector index file ({', '.join(sorted(SUFFIXES))})")
    return _backend(name).read(Path(path), limit=flat_max)
