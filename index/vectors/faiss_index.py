"""The FAISS backend: an index of normalised vectors, addressed by chunk row id.

The index type follows the size (`choose_kind`): exact search (flat) while the store is
small, an inverted file (IVF, flat codes, inner product) beyond. IVF keeps what the store
relies on: ids of our choosing, removal, look-up of a vector by id, and filters as an id
selector. A flat index that grows past the threshold is rebuilt as IVF; an IVF index is
retrained when it has grown four times past the size its lists were made for, and goes
back to flat when it shrinks well below the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

# Below this many vectors the index is exact (flat). The caller passes another threshold
# (the setting KB_FLAT_MAX, read at the edge; tests use a small value to see the switch).
FLAT_MAX = 50_000
# Filters that leave at most this many vectors are searched exactly on that subset.
EXACT_SUBSET_MAX = 2_048


def choose_kind(n: int, limit: int = FLAT_MAX) -> str:
    """The index type for n vectors: 'flat' below the threshold, 'ivf' from it on."""
    return "flat" if n < limit else "ivf"


def ivf_lists(n: int) -> int:
    """Number of inverted lists for n vectors: about sqrt(n), so a list holds about sqrt(n)."""
    return int(min(8192, max(16, round(math.sqrt(max(n, 1))))))


def ivf_probes(nlist: int) -> int:
    """Lists visited per query: one in eight (at least 8). On clustered synthetic data
    (bench/ivf_sweep.py, docs/benchmarks.md) recall@10 at 10^6 vectors and 1,000 lists was
    0.91 visiting 62, 0.95 visiting 128, 0.96 visiting 192; at 10^5 one in sixteen already
    gave 0.97."""
    return int(min(nlist, max(8, nlist // 8)))


@contextmanager
def _one_thread() -> Iterator[None]:
    """One query is searched on one thread: splitting it over OpenMP threads gains nothing at
    this size, and on a busy machine the threads' waiting on each other cost 100x (0.6 ms
    against 68 ms for 10^4 vectors, docs/benchmarks.md)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _ivf(dim: int, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    nlist = ivf_lists(len(ids))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 1234  # the same vectors give the same lists
    # k-means on a sample of 64 vectors a list, 10 rounds: lists good enough for IVF at a
    # fraction of the default's cost (256 a list, 25 rounds).
    index.cp.max_points_per_centroid = 64
    index.cp.niter = 10
    index.train(vectors)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct(id), remove_ids
    index.nprobe = ivf_probes(nlist)
    index.add_with_ids(vectors, ids)
    return index


def _ivf_of(index: faiss.Index) -> faiss.IndexIVF | None:
    return faiss.try_extract_index_ivf(index) if not isinstance(index, faiss.IndexIDMap2) else None


class FaissIndex:
    """Inner-product search with ids; filters as an id selector. A `VectorIndex`.

    Args:
        dim: the vectors' dimension.
        index: an existing FAISS index (flat IDMap2 or IVF) to wrap.
        limit: the flat/IVF threshold (FLAT_MAX by default).
    """

    def __init__(self, dim: int, index: faiss.Index | None = None, limit: int = FLAT_MAX):
        self.dim = dim
        self.limit = limit
        self.index = index if index is not None else _flat(dim)

    @classmethod
    def build(
        cls, dim: int, ids: np.ndarray, vectors: np.ndarray, limit: int = FLAT_MAX
    ) -> FaissIndex:
        """An index of the type `choose_kind` picks for this many vectors."""
        out = cls(dim, limit=limit)
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        if choose_kind(len(ids), out.limit) == "ivf":
            out.index = _ivf(dim, ids, vectors)
        elif len(ids):
            out.index.add_with_ids(vectors, ids)
        return out

    @property
    def kind(self) -> str:
        return "ivf" if _ivf_of(self.index) is not None else "flat"

    def describe(self) -> str:
        """The type with its parameters, e.g. 'ivf(nlist=1000,nprobe=125)'."""
        ivf = _ivf_of(self.index)
        return "flat" if ivf is None else f"ivf(nlist={ivf.nlist},nprobe={ivf.nprobe})"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ivf = _ivf_of(self.index)
        n = self.ntotal + len(ids)
        outgrown = ivf is not None and n > 4 * ivf.nlist * ivf.nlist
        if (ivf is None and choose_kind(n, self.limit) == "ivf") or outgrown:
            old_ids, old_vecs = self.all()
            self.index = FaissIndex.build(
                self.dim, np.concatenate([old_ids, ids]), np.vstack([old_vecs, vectors]), self.limit
            ).index
            return
        self.index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        self.index.remove_ids(np.asarray(ids, dtype=np.int64))
        if self.kind == "ivf" and self.ntotal < self.limit // 2:
            self.index = FaissIndex.build(self.dim, *self.all(), limit=self.limit).index

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(ids)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[int], list[float]]:
        if self.ntotal == 0 or k <= 0:
            return [], []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.ntotal if allowed is None else len(allowed))
        ivf = _ivf_of(self.index)
        params = None
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            if ivf is not None and len(allowed) <= EXACT_SUBSET_MAX:
                return self._exact_subset(q, k, allowed)
            sel = faiss.IDSelectorBatch(allowed)
            if ivf is None:
                params = faiss.SearchParameters(sel=sel)
            else:
                # A filter keeping a share f of the vectors leaves about f of each list: visit
                # 1/f times as many lists to see as many candidates as an unfiltered query.
                share = max(len(allowed) / self.ntotal, 1e-9)
                probes = min(ivf.nlist, math.ceil(ivf.nprobe / share))
                params = faiss.SearchParametersIVF(sel=sel, nprobe=probes)
        with _one_thread():
            scores, ids = self.index.search(q, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].tolist(), scores[0][keep].tolist()

    def _exact_subset(
        self, q: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[list[int], list[float]]:
        present = allowed
        try:
            vecs = self.reconstruct(present)
        except RuntimeError:  # an id the index does not hold: look them up one by one
            present = np.array([i for i in present if self._has(int(i))], dtype=np.int64)
            vecs = self.reconstruct(present)
        scores = vecs @ q[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return present[order].tolist(), scores[order].astype(float).tolist()

    def _has(self, i: int) -> bool:
        try:
            self.index.reconstruct(i)
            return True
        except RuntimeError:
            return False

    def ids(self) -> np.ndarray:
        return self.all(vectors=False)[0]

    def all(self, vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every id and (unless vectors=False) its vector, in storage order."""
        ivf = _ivf_of(self.index)
        if ivf is None:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            flat = faiss.downcast_index(self.index.index)
            vecs = (faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, self.dim).copy()
                    if vectors else np.zeros((0, self.dim), np.float32))  # fmt: skip
            return ids, vecs
        lists = ivf.invlists
        id_parts, vec_parts = [], []
        for li in range(ivf.nlist):
            size = lists.list_size(li)
            if not size:
                continue
            id_parts.append(faiss.rev_swig_ptr(lists.get_ids(li), size).copy())
            if vectors:
                raw = faiss.rev_swig_ptr(lists.get_codes(li), size * lists.code_size)
                vecs = np.frombuffer(bytes(raw), dtype=np.float32)
                vec_parts.append(vecs.reshape(size, self.dim))
        ids = np.concatenate(id_parts).astype(np.int64) if id_parts else np.zeros(0, np.int64)
        vecs = np.vstack(vec_parts) if vec_parts else np.zeros((0, self.dim), np.float32)
        return ids, vecs

    def write(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def read(cls, path: Path, limit: int = FLAT_MAX) -> FaissIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, index, limit=limit)
