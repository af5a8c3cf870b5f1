"""Ingest's pipeline: the chunks of many documents embedded in one call, in the background."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from index.embedder import Embedder
from ingest import Document, IngestError
from kb.records import IngestResult

# Embed the chunks of many documents in one call once this many are waiting (or this many
# bytes of files are held): one call per small project record was mostly overhead.
EMBED_BATCH_CHUNKS = 512
EMBED_BATCH_BYTES = 64 * 2**20

# Stores one document whose chunks, texts and vectors are ready: 'added' or 'replaced'.
StoreDocument = Callable[[Document, bytes | None, tuple[list, list[str], np.ndarray]], str]


class EmbedBatches:
    """Documents are chunked as their files are read, their chunks embedded many documents
    at a time in a background thread (while the next files are read), then each document
    is stored in its own transaction, in order. Result lines keep the order of the files;
    a file's line is given once its documents are stored."""

    def __init__(self, embedder: Embedder, store_document: StoreDocument,
                 emit: Callable[[list[IngestResult]], None]):  # fmt: skip
        self.embedder = embedder
        self.store_document = store_document
        self.emit = emit
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="kb-embed")
        self.waiting: list[tuple[Document, bytes | None, list, list[str]]] = []
        self.held: list[list[IngestResult]] = []  # result lines of files not yet stored
        self.running = None  # (future, documents, result lines) of the batch being embedded
        self.ids: set[str] = set()

    def add(self, doc: Document, data: bytes | None, chunks: list, texts: list[str]) -> None:
        self.waiting.append((doc, data, chunks, texts))
        self.ids.add(doc.id)

    def holds(self, document_id: str) -> bool:
        return document_id in self.ids

    def results(self, lines: list[IngestResult]) -> None:
        self.held.append(lines)
        chunks = sum(len(w[3]) for w in self.waiting)
        size = sum(len(w[1] or b"") for w in self.waiting)
        if chunks >= EMBED_BATCH_CHUNKS or size >= EMBED_BATCH_BYTES:
            self._start()
        elif not self.waiting and self.running is None:
            self._emit_held()

    def finish(self) -> None:
        self._start()
        self._complete()
        self._emit_held()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _emit_held(self) -> None:
        held, self.held = self.held, []
        for lines in held:
            self.emit(lines)

    def _start(self) -> None:
        """Hand the waiting documents to the embedding thread (after storing the last batch)."""
        self._complete()
        if not self.waiting:
            return
        docs, self.waiting = self.waiting, []
        texts = [t for d in docs for t in d[3]]
        future = self.pool.submit(self.embedder.embed_documents, texts)
        self.running = (future, docs, self.held)
        self.held = []

    def _complete(self) -> None:
        """Wait for the batch being embedded, store its documents, give its result lines."""
        if self.running is None:
            return
        future, docs, held = self.running
        self.running = None
        vectors = future.result()
        outcome: dict[str, tuple[str, str]] = {}
        at = 0
        for doc, data, chunks, texts in docs:
            vecs, at = vectors[at : at + len(texts)], at + len(texts)
            try:
                outcome[doc.id] = (self.store_document(doc, data, (chunks, texts, vecs)), "")
            except IngestError as e:
                outcome[doc.id] = ("failed", str(e))
            self.ids.discard(doc.id)
        for lines in held:
            out = []
            for r in lines:
                if r.status == "pending":
                    status, reason = outcome[r.document_id or ""]
                    r = (dataclasses.replace(r, status=status) if status != "failed" else
                         IngestResult(r.name, "failed", reason))  # fmt: skip
                out.append(r)
            self.emit(out)
