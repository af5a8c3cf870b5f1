"""The errors the core lets through to the CLI and the app, in one place."""

from index.embedder import EmbedderUnavailable
from index.store import StoreError
from ingest import IngestError

__all__ = ["EmbedderUnavailable", "IngestError", "StoreError"]
