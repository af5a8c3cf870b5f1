"""Vector indexes: the `VectorIndex` protocol, the FAISS backend and the factory that picks.

Callers make and load indexes through `make_index` and `load_index`; the rest is exported for
the store, `kb doctor`, the benchmarks and the tests.
"""

from index.vectors.base import VectorIndex
from index.vectors.factory import BACKENDS, load_index, make_index
from index.vectors.faiss_index import (
    EXACT_SUBSET_MAX,
    FLAT_MAX,
    FaissIndex,
    choose_kind,
    ivf_lists,
    ivf_probes,
)

__all__ = [
    "BACKENDS",
    "EXACT_SUBSET_MAX",
    "FLAT_MAX",
    "FaissIndex",
    "VectorIndex",
    "choose_kind",
    "ivf_lists",
    "ivf_probes",
    "load_index",
    "make_index",
]
