"""Chunks to search: embedders, the vector store (SQLite + FAISS), BM25 and fusion.

Knows nothing of ingest, of `kb` or of the UI.
"""
