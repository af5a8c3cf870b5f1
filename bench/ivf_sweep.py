"""Recall@10 and latency of the IVF index at several numbers of visited lists (nprobe).

Usage: .venv/bin/python bench/ivf_sweep.py N NPROBE[,NPROBE...]
e.g.   .venv/bin/python bench/ivf_sweep.py 1000000 32,62,96,128,192

The same clustered synthetic vectors as bench/perf.py's scale section; the index is built
by index.vectors.make_index for N vectors, then searched one query at a time.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import faiss  # noqa: E402
from perf import clustered, topics  # noqa: E402

from index.vectors import make_index  # noqa: E402


def main(n: int, probes: list[int], dim: int = 384, queries: int = 200) -> None:
    rng = np.random.default_rng(7)
    model = topics(n, dim, rng)
    data = clustered(n, dim, rng, model)
    qs = clustered(queries, dim, rng, model)
    exact = np.zeros((queries, 10), dtype=np.int64)
    for s in range(0, queries, 25):
        sims = qs[s : s + 25] @ data.T
        exact[s : s + 25] = np.argpartition(-sims, 10, axis=1)[:, :10] + 1
    t = time.perf_counter()
    index = make_index(dim, np.arange(1, n + 1), data)
    print(f"{index.describe()} built in {time.perf_counter() - t:.1f} s", flush=True)
    ivf = faiss.try_extract_index_ivf(index.index)
    for nprobe in probes:
        ivf.nprobe = nprobe
        times, found = [], 0
        for i, q in enumerate(qs):
            t = time.perf_counter()
            ids, _ = index.search(q, 10)
            times.append((time.perf_counter() - t) * 1000)
            found += len(set(ids) & set(exact[i].tolist()))
        print(f"nprobe {nprobe}: recall@10 {found / (10 * queries):.3f}, "
              f"p50 {statistics.median(times):.2f} ms", flush=True)  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(x) for x in sys.argv[2].split(",")])
