"""A deterministic lexical embedder for tests and quick trials: no model, instant."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .base import normalise

_WORD = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """A deterministic, dependency-free lexical embedder (hashed word and prefix features).

    For tests and quick trials: no model, instant, and texts sharing words are similar.
    """

    max_tokens = 256
    multilingual = False

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
        return normalise(np.stack([self._vector(t) for t in texts]))

    embed_queries = embed_documents
