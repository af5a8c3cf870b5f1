"""Ingest: files in, chunked, embedded, tagged and stored; remove and reindex."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from index.embedder import Embedder
from index.store import VISIBILITIES, ChunkRow, DocumentRow, Store
from ingest import Document, IngestError
from ingest.chunk import Chunker
from ingest.loader import load_file
from ingest.projects import Project
from ingest.records import sha256_hex
from kb.access import AccessDenied, Viewer
from kb.batches import EmbedBatches
from kb.catalogue import Catalogue
from kb.records import IngestResult
from kb.settings import Settings
from kb.tagging import BlockTagger
from kb.text import slugify
from kb.walk import Item, expand

# Room kept in the model's window for its special tokens and the title/section prefix
# that is embedded with each chunk.
PREFIX_TOKENS = 48

# A document ready to be stored: its row, its chunks' rows and their vectors.
Prepared = tuple[DocumentRow, list[ChunkRow], np.ndarray]


class Ingestor:
    """Turns files into stored, searchable documents. All writes hold `lock`."""

    def __init__(self, home: Path, store: Store, embedder: Embedder, tagger: BlockTagger,
                 catalogue: Catalogue, settings: Settings, lock: threading.Lock):  # fmt: skip
        self.home = home
        self.store = store
        self.embedder = embedder
        self.tagger = tagger
        self.catalogue = catalogue
        self.settings = settings
        self.lock = lock
        self.batch_embedding = True  # False: embed and store each document on its own
        self._chunker: Chunker | None = None
        self._batch: EmbedBatches | None = None  # set while ingest() runs
        # Who adds, for whom, and for whose eyes: set while ingest() runs.
        self._actor: str | None = None
        self._owner: str | None = None  # an editor's municipality: every document is theirs
        self._visibility = "regional"

    # ---- one document ---------------------------------------------------------------------
    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            budget = self.embedder.max_tokens - 2 - PREFIX_TOKENS
            self._chunker = Chunker(self.embedder.count_tokens, max_tokens=budget)
        return self._chunker

    def embed_text(self, doc: Document | DocumentRow, chunk) -> str:
        """The text embedded for a chunk: its document's title and section, then its text."""
        section = (chunk.section or "").split(" > ")[-1]
        prefix = doc.title[:80] + (f" — {section[:80]}" if section and section != doc.title else "")
        text = f"{prefix}\n{chunk.text}"
        if self.embedder.count_tokens(text) > self.embedder.max_tokens - 2:
            return chunk.text
        return text

    def store_copy(self, doc: Document, data: bytes | None) -> str | None:
        """Keep the file's bytes under KB_HOME/files; its path relative to the home."""
        if data is None:
            return None
        files = self.home / "files"
        files.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", doc.source)[-80:].lstrip(".") or "file"
        target = files / f"{doc.id[:16]}-{name}"
        if not target.exists():
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return str(target.relative_to(self.home))

    def chunk_texts(self, doc: Document) -> tuple[list, list[str]]:
        """A document's chunks and the text embedded for each."""
        chunks = self.chunker.chunk(doc)
        if not chunks:
            raise IngestError("no text to index")
        return chunks, [self.embed_text(doc, c) for c in chunks]

    def prepare(
        self, doc: Document, data: bytes | None, added: str = "",
        planned: tuple[list, list[str], np.ndarray] | None = None,
        visibility: str = "regional",
    ) -> Prepared:
        """Chunk and embed a document into the rows the store keeps.

        Args:
            planned: its chunks, texts and vectors when they were made already (batched).
        """
        if planned is None:
            chunks, embed_texts = self.chunk_texts(doc)
            vectors = self.embedder.embed_documents(embed_texts)
        else:
            chunks, embed_texts, vectors = planned
        rows = [
            ChunkRow(
                id=c.id, document_id=c.document_id, position=c.position, text=c.text,
                embed_text=t, kind=c.kind, page=c.page, section=c.section,
                municipality=c.municipality, language=c.language, project_id=c.project_id,
                building_blocks=c.building_blocks,
            )  # fmt: skip
            for c, t in zip(chunks, embed_texts, strict=True)
        ]
        rows = self.tagger.tag_rows(doc.kind, doc.meta, rows, vectors)  # blocks by likeness
        row = DocumentRow(
            id=doc.id, key=doc.key, source=doc.source, title=doc.title, kind=doc.kind,
            municipality=doc.municipality, language=doc.language, pages=doc.pages,
            project_id=doc.project_id, added=added, stored_path=self.store_copy(doc, data),
            meta=doc.meta, visibility=visibility,
        )  # fmt: skip
        return row, rows, vectors

    def add_prepared(self, prepared: Prepared, doc: Document, data: bytes | None,
                     visibility: str = "regional", actor: str = "local") -> str:  # fmt: skip
        """Store a document prepared earlier (a checked draft), keeping its file: 'added',
        'replaced', or 'unchanged' when the same bytes are in the store already."""
        row, rows, vectors = prepared
        with self.lock:
            if self.store.has_document(doc.id):
                return "unchanged"
            row = dataclasses.replace(row, stored_path=self.store_copy(doc, data),
                                      visibility=visibility)  # fmt: skip
            replaced = self.store.put(row, rows, vectors, actor=actor)
            self.tagger.sync()
        return "replaced" if replaced else "added"

    def _add_document(self, doc: Document, data: bytes | None) -> tuple[str, int]:
        if self._batch is not None:  # in ingest(): embedded and stored later, with others
            chunks, texts = self.chunk_texts(doc)
            self._batch.add(doc, data, chunks, texts)
            return "pending", len(chunks)
        row, rows, vectors = self.prepare(doc, data, visibility=self._visibility)
        replaced = self.store.put(row, rows, vectors, actor=self._actor)
        return ("replaced" if replaced else "added"), len(rows)

    def _store_planned(self, doc: Document, data: bytes | None,
                       planned: tuple[list, list[str], np.ndarray]) -> str:  # fmt: skip
        """Store a document whose chunks were embedded in a batch: 'added' or 'replaced'."""
        row, rows, vecs = self.prepare(doc, data, planned=planned, visibility=self._visibility)
        return "replaced" if self.store.put(row, rows, vecs, actor=self._actor) else "added"

    # ---- files ----------------------------------------------------------------------------
    def _ingest_item(
        self, item: Item, kind: str | None, municipality: str | None, password: str | None
    ) -> list[IngestResult]:
        name = str(item.path)
        try:
            size = item.path.stat().st_size
        except OSError as e:
            return [IngestResult(name, "failed", f"cannot read ({e.strerror or e})")]
        limit = self.settings.max_file_bytes
        if size > limit:
            return [IngestResult(name, "failed", f"file too large ({size / 1e6:.1f} MB > "
                                 f"{limit / 1e6:.0f} MB, see KB_MAX_FILE_MB)")]  # fmt: skip
        data = item.path.read_bytes()
        file_id = sha256_hex(data)
        if self.store.has_document(file_id):  # same bytes: no parsing, no embedding
            doc = self.store.document(file_id)
            if self._owner and doc and doc.visibility != "regional" and (
                    doc.municipality != self._owner):  # fmt: skip
                # another municipality's private copy of the same file: its id and title
                # stay hidden (it stays theirs; the uploader has the bytes anyway)
                return [IngestResult(name, "unchanged")]
            title = doc.title if doc else None
            return [IngestResult(name, "unchanged", document_id=file_id, title=title)]
        try:
            loaded = load_file(
                item.path,
                kind=kind or item.kind or "other",
                municipality=municipality,
                password=password,
                data=data,
                **self.settings.load_limits(),
            )
        except IngestError as e:
            return [IngestResult(name, "failed", str(e))]
        except Exception as e:  # an input problem we did not foresee: report, go on
            return [IngestResult(name, "failed", f"{type(e).__name__}: {e}"[:200])]
        results = [IngestResult(f"{name}: {e.where}" if e.where else name, "failed", e.reason)
                   for e in loaded.errors]  # fmt: skip
        single = len(loaded.documents) == 1 and not loaded.errors
        for doc in loaded.documents:
            if doc.municipality:
                doc = dataclasses.replace(doc, municipality=slugify(doc.municipality))
            if self._owner:  # an editor adds for their own municipality, whatever a file says
                doc = dataclasses.replace(doc, municipality=self._owner)
            label = name if single else f"{name}: {doc.project_id or doc.title}"
            refused = self._refusal(doc)
            if refused:
                results.append(IngestResult(label, "failed", refused))
                continue
            if self.store.has_document(doc.id) or (self._batch and self._batch.holds(doc.id)):
                results.append(
                    IngestResult(label, "unchanged", document_id=doc.id, title=doc.title)
                )
                continue
            try:
                status, n = self._add_document(doc, data if doc.kind != "project" else None)
            except IngestError as e:
                results.append(IngestResult(label, "failed", str(e)))
                continue
            results.append(IngestResult(label, status, document_id=doc.id, title=doc.title,
                                        chunks=n, note=left_out(doc.meta)))  # fmt: skip
        return results

    def ingest(
        self,
        paths: Iterable[Path | str],
        *,
        kind: str | None = None,
        municipality: str | None = None,
        password: str | None = None,
        on_result: Callable[[IngestResult], None] | None = None,
        progress: bool = False,
        visibility: str = "regional",
        viewer: Viewer | None = None,
    ) -> list[IngestResult]:
        """Ingest files and folders; one result per file (or per catalogue record).

        Args:
            visibility: 'regional' or 'municipality' (only that municipality's users).
            viewer: who adds them; an editor for their own municipality only.

        Raises:
            AccessDenied: a reader, or an editor naming another municipality.
        """
        from tqdm import tqdm

        viewer = Viewer.resolve(viewer)
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
        owner = viewer.owner(municipality)  # raises for a reader or a foreign municipality
        if not viewer.sees_all:
            municipality = owner

        paths = [Path(p) for p in paths]
        for p in paths:
            if p.is_dir() and (p / "municipalities.yaml").is_file():
                self.catalogue.register_municipalities(p / "municipalities.yaml")
        items = expand([p for p in paths if p.exists()])
        results = [
            IngestResult(str(p), "failed", "no such file or folder")
            for p in paths
            if not p.exists()
        ]
        for r in results:
            if on_result:
                on_result(r)

        def emit(rs: list[IngestResult]) -> None:
            for r in rs:
                results.append(r)
                if on_result:
                    on_result(r)

        with self.lock, self.store.batch():
            self._actor, self._visibility = viewer.name, visibility
            self._owner = None if viewer.sees_all else owner
            batch = self._batch = (
                EmbedBatches(self.embedder, self._store_planned, emit)
                if self.batch_embedding else None
            )  # fmt: skip
            try:
                for item in tqdm(
                    items,
                    desc="ingest",
                    unit="file",
                    disable=None if progress else True,
                    leave=False,
                ):
                    lines = self._ingest_item(item, kind, municipality, password)
                    if batch:
                        batch.results(lines)
                    else:
                        emit(lines)
                if batch:
                    batch.finish()
            finally:
                if batch:
                    batch.close()
                self._batch, self._actor, self._owner = None, None, None
                self._visibility = "regional"
            self.tagger.sync()  # a new guide re-tags what came before it
        return results

    # ---- remove and reindex ---------------------------------------------------------------
    def _refusal(self, doc: Document) -> str:
        """Why this document may not be stored in this ingest ('' when it may)."""
        if self._visibility == "municipality" and not doc.municipality:
            return "visibility 'municipality' needs a municipality (--municipality)"
        if self._owner:  # an editor never replaces another municipality's document
            existing = self.store.document_by_key(doc.key)
            if existing is not None and existing.municipality != self._owner:
                return "a document of another municipality has this name or project id"
        return ""

    def resolve_document(self, document_id: str,
                         viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        """A document the viewer may see, by id or by a unique prefix of 8+ characters."""
        filters = Viewer.resolve(viewer).filters()
        doc = self.store.document(document_id, filters)
        if doc or len(document_id) < 8:
            return doc
        matches = [d for d in self.store.documents(filters=filters) if d.id.startswith(document_id)]
        return matches[0] if len(matches) == 1 else None

    def editable(self, document_id: str, viewer: Viewer, verb: str) -> DocumentRow | None:
        """The document the viewer sees by this id (or prefix), None if none; raises
        AccessDenied when they see it but may not `verb` it (not their municipality's)."""
        doc = self.resolve_document(document_id, viewer)
        if doc is not None and not viewer.may_edit(doc.municipality):
            raise AccessDenied(f"{viewer.name} may not {verb} documents of "
                               f"{doc.municipality or 'the region'}")  # fmt: skip
        return doc

    def set_title(self, document_id: str, title: str,
                  viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        """Change a document's title (id or unique prefix; its municipality's editors,
        admins); the document, or None when the viewer sees no such document or the title
        is empty."""
        title = " ".join(title.split())
        if not title:
            return None
        doc = self.editable(document_id, Viewer.resolve(viewer), "change")
        if doc is None:
            return None
        with self.lock:
            self.store.set_title(doc.id, title[:300])
        return self.store.document(doc.id)

    def remove(self, document_id: str, viewer: Viewer | None = None) -> DocumentRow | None:
        """Remove a document by id (a unique prefix of at least 8 characters will do).

        Raises:
            AccessDenied: the viewer may see it but not edit it.
        """
        viewer = Viewer.resolve(viewer)
        doc = self.editable(document_id, viewer, "remove")
        if doc is None:
            return None
        with self.lock:
            self.store.remove(doc.id, actor=viewer.name)
            self.tagger.sync()
        return doc

    def set_visibility(self, document_id: str, visibility: str,
                       viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        """Change a document's visibility (its municipality's editors, admins); the document
        as it was, or None when the viewer sees no such document."""
        viewer = Viewer.resolve(viewer)
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
        doc = self.editable(document_id, viewer, "change")
        if doc is None:
            return None
        if visibility == "municipality" and not doc.municipality:
            raise ValueError("a document without a municipality cannot be municipality-only")
        with self.lock:
            return self.store.set_visibility(doc.id, visibility, viewer.name)

    def reindex(self, progress: bool = False) -> int:
        """Re-chunk and re-embed every document with the current model; returns the count.

        Everything is embedded first and written in one transaction: a crash or an error
        on the way leaves the old store as it was.
        """
        from tqdm import tqdm

        docs = self.store.documents()
        entries = []
        with self.lock:
            for row in tqdm(
                docs, desc="reindex", unit="doc", disable=None if progress else True, leave=False
            ):
                doc, data = self._reload(row)
                if doc is None:  # no stored copy to re-read: re-embed the chunks we have
                    entries.append(self._reembed(row))
                else:
                    entries.append(self.prepare(doc, data, added=row.added,
                                                visibility=row.visibility))  # fmt: skip
            self.store.replace_all(
                (self.embedder.name, self.embedder.dim, self.embedder.fingerprint), entries
            )
            self.tagger.sync()
        return len(entries)

    def _reembed(self, row: DocumentRow) -> Prepared:
        chunks = [dataclasses.replace(c, rowid=None) for c in self.store.chunks_of(row.id)]
        return row, chunks, self.embedder.embed_documents([c.embed_text for c in chunks])

    def _reload(self, row: DocumentRow) -> tuple[Document | None, bytes | None]:
        if row.kind == "project" and "project" in row.meta:
            return Project.model_validate(row.meta["project"]).to_document(row.source), None
        if not row.stored_path or not (self.home / row.stored_path).is_file():
            return None, None
        path = self.home / row.stored_path
        data = path.read_bytes()
        loaded = load_file(path, kind=row.kind, municipality=row.municipality, data=data,
                           **self.settings.load_limits())
        return dataclasses.replace(loaded.documents[0], key=row.key, source=row.source), data


def left_out(meta: dict) -> str:
    """One clause on what the reader left out of a document, from its meta; '' for none."""
    parts = []
    for cut in meta.get("truncated") or []:
        if cut.get("rows") is not None or "columns" not in cut:
            parts.append(f"sheet '{cut['sheet']}': only the first {cut['rows_read']:,} rows read")
        else:
            parts.append(f"sheet '{cut['sheet']}': only the first {cut['columns_read']} "
                         f"columns read")  # fmt: skip
    skipped = meta.get("ocr_skipped_pages") or []
    if skipped:
        pages = ", ".join(str(n) for n in skipped[:10]) + (" …" if len(skipped) > 10 else "")
        parts.append(f"no OCR within the time limit for page(s) {pages}")
    return "; ".join(parts)
