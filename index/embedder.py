"""The embedders, as before the split into index/embedders/ (kept so existing imports work)."""

from index.embedders import (  # noqa: F401
    DEFAULT_MODEL_NAME,
    E5_NAME,
    E5Embedder,
    Embedder,
    EmbedderUnavailable,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
    physical_cores,
    torch_threads,
)
