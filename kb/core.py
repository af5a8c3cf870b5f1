"""The KnowledgeBase facade: composes ingest and index; the CLI and the app only call this."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from index.embedder import Embedder, make_embedder
from index.glossary import glossary
from index.store import ChunkRow, DocumentRow, Filters, Hit, Store
from ingest import Document, IngestError
from ingest.chunk import Chunker
from ingest.lang import detect_language
from ingest.loader import load_file
from ingest.projects import Project
from ingest.records import sha256_hex
from kb import novelty, settings, tagging
from kb.answer import Answer, BlockRef, ProjectRef, compose, make_sources, select_diverse
from kb.text import slugify, terms
from kb.walk import Item, expand

# Room kept in the model's window for its special tokens and the title/section prefix
# that is embedded with each chunk.
PREFIX_TOKENS = 48
# Cosine below which a dense hit is not an answer. A first guess from a handful of questions;
# `kb eval` on corpus/eval is to calibrate it (and the coverage below).
DEFAULT_MIN_SCORE = 0.30
# Share of the question's content words a top hit must hold to answer on lexical grounds.
DEFAULT_MIN_COVERAGE = 0.6
# "No answer" also when the question hinges on words the best hits lack (kb/novelty.py): at
# least this share of its informative words is in none of the three best hits (in either
# language, glossary translations included) and in at most ABSENT_MAX_DF chunks of the
# corpus, while the best cosine stays below ABSENT_MIN_SCORE. Found by a grid over share
# 0.15-0.6 x df 0-10 x cosine 0.45-1.0 on the even-numbered corpus questions only (best F1
# at precision >= 0.8, then the fewest answerable questions refused; ties to the smallest
# df, then the largest share); the odd-numbered ones are held out (bench/crosslingual.py,
# docs/benchmarks.md "Retrieval quality").
DEFAULT_MAX_ABSENT = 0.3
ABSENT_MAX_DF = 1
ABSENT_MIN_SCORE = 0.55
# Hybrid fusion by the question's language: (dense ranking's weight, RRF constant). The
# default model is English-trained: on English text its ranking leads, on Dutch BM25 does.
# Swept with bench/fusion_sweep.py on the corpus questions and two BEIR sets
# (docs/benchmarks.md, "Retrieval quality"). A query too short to tell its language (a
# name, a few keywords) weighs both equally, with the first ranks counting most.
FUSION = {"en": (0.8, 10), "nl": (0.3, 60), None: (0.5, 10)}
# Ingest embeds the chunks of many documents in one call once this many are waiting (or
# this many bytes of files are held): one call per small project record was mostly overhead.
EMBED_BATCH_CHUNKS = 512
EMBED_BATCH_BYTES = 64 * 2**20


@dataclass(frozen=True)
class IngestResult:
    """One line of an ingest report: a file (or a record in a catalogue file)."""

    name: str
    status: str  # added | unchanged | replaced | failed
    reason: str = ""
    document_id: str | None = None
    title: str | None = None
    chunks: int = 0

    def line(self) -> str:
        if self.status == "failed":
            return f"failed: {self.name}: {self.reason}"
        extra = f" ({self.chunks} chunks)" if self.chunks else ""
        return f"{self.status}: {self.name}{extra}"


@dataclass(frozen=True)
class SimilarProject:
    id: str
    title: str
    municipality: str | None
    score: float
    why: str
    shared_building_blocks: list[str] = field(default_factory=list)
    shared_themes: list[str] = field(default_factory=list)
    building_blocks: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    status: str | None = None
    stage: str | None = None
    summary: str = ""


class KnowledgeBase:
    """Documents in, cited answers and comparable projects out.

    Args:
        home: the data folder (KB_HOME by default).
        embedder: the embedder (KB_EMBED_MODEL by default); loaded on first use.
        check_model: False to open a store built with another model (stats, reindex).
    """

    def __init__(
        self, home: Path | None = None, embedder: Embedder | None = None, check_model: bool = True
    ):
        self.home = Path(home) if home else settings.home()
        self.embedder = embedder or make_embedder(settings.get("KB_EMBED_MODEL"))
        self.store = Store(
            self.home,
            (self.embedder.name, self.embedder.dim, self.embedder.fingerprint),
            check_model=check_model,
        )
        self._write_lock = threading.Lock()
        self._chunker: Chunker | None = None
        # An embedder whose cosines sit elsewhere than the default's brings its own threshold
        # and fusion weights (index/embedder.py, E5Embedder); KB_MIN_SCORE overrides both.
        min_score = settings.get("KB_MIN_SCORE")
        own_min = getattr(self.embedder, "min_score", None)
        self.min_score = float(min_score) if min_score else (own_min or DEFAULT_MIN_SCORE)
        self.fusion: dict = getattr(self.embedder, "fusion", None) or FUSION
        self.min_coverage = DEFAULT_MIN_COVERAGE
        self.max_absent: float | None = DEFAULT_MAX_ABSENT  # None: no absent-words check
        self.mode = "hybrid"
        # Cross-lingual help from the Dutch-English glossary (index/glossary.py): BM25 adds the
        # translations of the query's words; for an English-only model a Dutch query is also
        # embedded in a word-for-word English rendering (both vectors combined), and an English
        # query's fusion lets BM25 lead on Dutch chunks (docs/benchmarks.md).
        self.expand = True
        self.translate = self.split_fusion = not _multilingual(self.embedder)
        self._rendered: dict[str, np.ndarray] = {}
        self._cache: dict[str, tuple[object, object]] = {}
        self._batch: _EmbedBatches | None = None  # set while ingest() runs
        self.batch_embedding = True  # False: embed and store each document on its own

    def _cached(self, name: str, version: object, build: Callable[[], object]):
        """A value derived from the store, rebuilt only when `version` changes."""
        hit = self._cache.get(name)
        if hit is None or hit[0] != version:
            hit = (version, build())
            self._cache[name] = hit
        return hit[1]

    # ---- ingest ----------------------------------------------------------------------------
    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            budget = self.embedder.max_tokens - 2 - PREFIX_TOKENS
            self._chunker = Chunker(self.embedder.count_tokens, max_tokens=budget)
        return self._chunker

    def _embed_text(self, doc: Document | DocumentRow, chunk) -> str:
        section = (chunk.section or "").split(" > ")[-1]
        prefix = doc.title[:80] + (f" — {section[:80]}" if section and section != doc.title else "")
        text = f"{prefix}\n{chunk.text}"
        if self.embedder.count_tokens(text) > self.embedder.max_tokens - 2:
            return chunk.text
        return text

    def _store_copy(self, doc: Document, data: bytes | None) -> str | None:
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

    def _add_document(self, doc: Document, data: bytes | None) -> tuple[str, int]:
        if self._batch is not None:  # in ingest(): embedded and stored later, with others
            chunks, texts = self._chunk_texts(doc)
            self._batch.add(doc, data, chunks, texts)
            return "pending", len(chunks)
        row, rows, vectors = self._prepare(doc, data)
        replaced = self.store.put(row, rows, vectors)
        return ("replaced" if replaced else "added"), len(rows)

    def _chunk_texts(self, doc: Document) -> tuple[list, list[str]]:
        """A document's chunks and the text embedded for each."""
        chunks = self.chunker.chunk(doc)
        if not chunks:
            raise IngestError("no text to index")
        return chunks, [self._embed_text(doc, c) for c in chunks]

    def _prepare(
        self, doc: Document, data: bytes | None, added: str = "",
        planned: tuple[list, list[str], np.ndarray] | None = None,
    ) -> tuple[DocumentRow, list[ChunkRow], np.ndarray]:
        """Chunk and embed a document into the rows the store keeps.

        Args:
            planned: its chunks, texts and vectors when they were made already (batched).
        """
        if planned is None:
            chunks, embed_texts = self._chunk_texts(doc)
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
        rows = tagging.tag_rows(self, doc.kind, doc.meta, rows, vectors)  # blocks by likeness
        row = DocumentRow(
            id=doc.id, key=doc.key, source=doc.source, title=doc.title, kind=doc.kind,
            municipality=doc.municipality, language=doc.language, pages=doc.pages,
            project_id=doc.project_id, added=added, stored_path=self._store_copy(doc, data),
            meta=doc.meta,
        )  # fmt: skip
        return row, rows, vectors

    def _ingest_item(
        self, item: Item, kind: str | None, municipality: str | None, password: str | None
    ) -> list[IngestResult]:
        name = str(item.path)
        try:
            size = item.path.stat().st_size
        except OSError as e:
            return [IngestResult(name, "failed", f"cannot read ({e.strerror or e})")]
        limit = settings.max_file_bytes()
        if size > limit:
            return [IngestResult(name, "failed", f"file too large ({size / 1e6:.1f} MB > "
                                 f"{limit / 1e6:.0f} MB, see KB_MAX_FILE_MB)")]  # fmt: skip
        data = item.path.read_bytes()
        file_id = sha256_hex(data)
        if self.store.has_document(file_id):  # same bytes: no parsing, no embedding
            doc = self.store.document(file_id)
            title = doc.title if doc else None
            return [IngestResult(name, "unchanged", document_id=file_id, title=title)]
        try:
            loaded = load_file(
                item.path,
                kind=kind or item.kind or "other",
                municipality=municipality,
                password=password,
                data=data,
                **settings.load_limits(),
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
            label = name if single else f"{name}: {doc.project_id or doc.title}"
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
            results.append(
                IngestResult(label, status, document_id=doc.id, title=doc.title, chunks=n)
            )
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
    ) -> list[IngestResult]:
        """Ingest files and folders; one result per file (or per catalogue record)."""
        from tqdm import tqdm

        paths = [Path(p) for p in paths]
        for p in paths:
            if p.is_dir() and (p / "municipalities.yaml").is_file():
                self._register_municipalities(p / "municipalities.yaml")
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

        with self._write_lock, self.store.batch():
            batch = self._batch = _EmbedBatches(self, emit) if self.batch_embedding else None
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
                self._batch = None
            tagging.sync(self)  # a new guide re-tags what came before it
        return results

    def remove(self, document_id: str) -> DocumentRow | None:
        """Remove a document by id (a unique prefix of at least 8 characters will do)."""
        doc = self.resolve_document(document_id)
        if doc is None:
            return None
        with self._write_lock:
            self.store.remove(doc.id)
            tagging.sync(self)
        return doc

    def resolve_document(self, document_id: str) -> DocumentRow | None:
        doc = self.store.document(document_id)
        if doc or len(document_id) < 8:
            return doc
        matches = [d for d in self.store.documents() if d.id.startswith(document_id)]
        return matches[0] if len(matches) == 1 else None

    def reindex(self, progress: bool = False) -> int:
        """Re-chunk and re-embed every document with the current model; returns the count.

        Everything is embedded first and written in one transaction: a crash or an error
        on the way leaves the old store as it was.
        """
        from tqdm import tqdm

        docs = self.store.documents()
        entries = []
        with self._write_lock:
            for row in tqdm(
                docs, desc="reindex", unit="doc", disable=None if progress else True, leave=False
            ):
                doc, data = self._reload(row)
                if doc is None:  # no stored copy to re-read: re-embed the chunks we have
                    entries.append(self._reembed(row))
                else:
                    entries.append(self._prepare(doc, data, added=row.added))
            self.store.replace_all(
                (self.embedder.name, self.embedder.dim, self.embedder.fingerprint), entries
            )
            tagging.sync(self)
        return len(entries)

    def _reembed(self, row: DocumentRow) -> tuple[DocumentRow, list[ChunkRow], np.ndarray]:
        chunks = [dataclasses.replace(c, rowid=None) for c in self.store.chunks_of(row.id)]
        return row, chunks, self.embedder.embed_documents([c.embed_text for c in chunks])

    def _reload(self, row: DocumentRow) -> tuple[Document | None, bytes | None]:
        if row.kind == "project" and "project" in row.meta:
            return Project.model_validate(row.meta["project"]).to_document(row.source), None
        if not row.stored_path or not (self.home / row.stored_path).is_file():
            return None, None
        path = self.home / row.stored_path
        data = path.read_bytes()
        loaded = load_file(path, kind=row.kind, municipality=row.municipality, data=data)
        return dataclasses.replace(loaded.documents[0], key=row.key, source=row.source), data

    # ---- municipalities and building blocks -----------------------------------------------
    def _register_municipalities(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = list(data.get("municipalities", []))
        if data.get("regional"):
            entries.append(data["regional"])
        self.store.set_manifest_json("municipalities", entries)

    def municipalities(self) -> list[dict]:
        raw = self.store.manifest_value("municipalities")
        return self._cached("municipalities", raw, lambda: json.loads(raw) if raw else [])  # type: ignore[return-value]

    def municipality_name(self, mid: str | None) -> str:
        if not mid:
            return ""
        names = {m.get("id"): str(m.get("name", mid)) for m in self.municipalities()}
        return names.get(mid) or mid.replace("-", " ").title()

    def building_blocks(self) -> dict[str, dict]:
        """The guide's building blocks by id (from every ingested guide document)."""

        def build() -> dict[str, dict]:
            out: dict[str, dict] = {}
            for d in self.store.documents(kind="guide"):
                for b in d.meta.get("blocks", []):
                    out[b["id"]] = b
            return out

        return self._cached("blocks", self.store.generation, build)  # type: ignore[return-value]

    # ---- questions -------------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: str | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The k best chunks for a query (hybrid by default: dense + BM25, fused by rank).

        Args:
            vector: the query's embedding when the caller already has it.
        """
        mode = mode or self.mode
        if vector is None and mode != "bm25":
            vector = self.embedder.embed_queries([query])[0]
        lang = detect_language(query)
        weight, rrf_k = self.fusion.get(lang, (0.5, 60))
        if vector is not None and self.translate and lang == "nl":
            vector = self._with_english(query, vector)
        expansion = glossary().expansion(query, lang) if self.expand and mode != "dense" else ()
        if mode == "hybrid" and self.split_fusion and lang == "en":
            return self._fuse_by_language(query, lang, vector, k, filters, weight, rrf_k, expansion)
        return self.store.search(vector, k, filters, text=query, mode=mode,  # type: ignore[arg-type]
                                 dense_weight=weight, rrf_k=rrf_k, expansion=expansion)  # fmt: skip

    def _fuse_by_language(self, query: str, lang: str, vector, k: int, filters: Filters | None,
                          weight: float, rrf_k: int, expansion) -> list[Hit]:  # fmt: skip
        """Hybrid fusion of an English query for an English-only model, whose weights also
        follow each chunk's language: the model cannot read a Dutch chunk, so where BM25
        found one through the glossary's Dutch translations of the query, BM25 gets the
        dense ranking's weight and vice versa. An all-English corpus (BEIR) is fused as
        `Store.search` does."""
        depth = max(k, 50)
        dense = self.store.search(vector, depth, filters, mode="dense")
        lexical = self.store.search(vector, depth, filters, text=query, mode="bm25",
                                    expansion=expansion)  # fmt: skip
        w = 2 * weight
        scores: dict[int, float] = {}
        best: dict[int, Hit] = {}
        lex_score = {h.chunk.rowid: h.lexical for h in lexical}
        wanted = set(expansion)
        bridged = {h.chunk.rowid for h in lexical if wanted & terms(h.chunk.embed_text)}
        for ranking, is_dense in ((dense, True), (lexical, False)):
            for rank, h in enumerate(ranking, start=1):
                rid = h.chunk.rowid
                swap = h.chunk.language == "nl" and rid in bridged
                share = (w if is_dense else 2 - w) if not swap else (2 - w if is_dense else w)
                scores[rid] = scores.get(rid, 0.0) + share / (rrf_k + rank)
                best.setdefault(rid, h)
        ranked = sorted(scores.items(), key=lambda t: -t[1])[:k]
        return [Hit(best[r].chunk, s, best[r].dense, lex_score.get(r, 0.0)) for r, s in ranked]

    def _with_english(self, query: str, vector: np.ndarray) -> np.ndarray:
        """The query's vector combined with that of its glossary rendering in English."""
        english = glossary().to_english(query)
        if not english:
            return vector
        rendered = self._rendered.get(english)  # a small cache: ask() retrieves twice
        if rendered is None:
            rendered = self.embedder.embed_queries([english])[0]
            if len(self._rendered) > 256:
                self._rendered.clear()
            self._rendered[english] = rendered
        both = np.asarray(vector, dtype=np.float32) + rendered
        return both / (np.linalg.norm(both) or 1.0)

    def confident(self, question: str, hits: list[Hit]) -> bool:
        """Is the best of these hits relevant enough to answer from?

        Either the embedding model finds it close enough, or it holds most of the
        question's content words (the English-trained model scores Dutch text low).
        """
        if not hits:
            return False
        top = hits[:3]
        best = max(h.dense for h in top)
        if (self.max_absent is not None and best < ABSENT_MIN_SCORE
                and self.absent_share(question, top) >= self.max_absent):  # fmt: skip
            return False
        if best >= self.min_score:
            return True
        q = terms(question)
        if len(q) < 2:
            return False
        coverage = max(len(q & terms(h.chunk.embed_text)) / len(q) for h in top)
        return coverage >= self.min_coverage

    def absent_share(self, question: str, hits: list[Hit]) -> float:
        """Share of the question's informative words that none of the hits holds and the
        corpus hardly knows (kb/novelty.py); 0 for a question without such words."""
        names = self._cached("names", self.store.manifest_value("municipalities"), lambda: {
            w for m in self.municipalities()
            for w in re.findall(r"[^\W_]+", f"{m.get('name', '')} {m.get('id', '')}".lower())})
        words = novelty.informative_words(question, names)  # type: ignore[arg-type]
        if not words:
            return 0.0
        bm25 = self.store.bm25
        missing = novelty.unmatched_words(question, [h.chunk.embed_text for h in hits],
                                          bm25.doc_freq, ABSENT_MAX_DF, names)  # type: ignore[arg-type]
        return len(missing) / len(words)

    def ask(self, question: str, municipality: str | None = None, kind: str | None = None,
            k: int = 5, building_block: str | None = None) -> Answer:  # fmt: skip
        """An extractive answer with [n] citations, or an honest 'no answer'."""
        filters = Filters(municipality=slugify(municipality) if municipality else None, kind=kind,
                          building_block=building_block)  # fmt: skip
        vector = self.embedder.embed_queries([question])[0]
        hits = self.retrieve(question, k=max(30, 4 * k), filters=filters, vector=vector)
        chosen = select_diverse(hits, k)
        docs = {d: self.store.document(d) for d in {h.chunk.document_id for h in chosen}}
        # A document removed (or replaced) by another thread since the search is not cited.
        chosen = [h for h in chosen if docs[h.chunk.document_id] is not None]
        sources = make_sources(chosen, docs)  # type: ignore[arg-type]
        lang = detect_language(question)
        answered = self.confident(question, chosen)
        blocks = self._blocks_for(chosen)
        projects = self._projects_for(question, hits, vector)
        if not answered:
            topics = [f"{s.title} ({s.where})" if s.where else s.title for s in sources[:3]]
            text = (
                "The knowledge base has no confident answer to this question."
                if lang != "nl"
                else "De kennisbank heeft geen betrouwbaar antwoord op deze vraag."
            )
            return Answer(question, text, False, sources, blocks, projects, topics)
        return Answer(question, compose(question, lang, chosen), True, sources, blocks, projects)

    def _blocks_for(self, hits: list[Hit], limit: int = 3) -> list[BlockRef]:
        catalogue = self.building_blocks()
        scores: dict[str, float] = {}
        for h in hits:
            for b in h.chunk.building_blocks:
                scores[b] = scores.get(b, 0.0) + h.score
        best = sorted(scores.items(), key=lambda t: -t[1])[:limit]
        return [
            BlockRef(
                b,
                catalogue.get(b, {}).get("name", b),
                catalogue.get(b, {}).get("stage"),
                round(s, 4),
            )
            for b, s in best
        ]

    def _projects_for(
        self, question: str, hits: list[Hit], vector: np.ndarray, limit: int = 3
    ) -> list[ProjectRef]:
        project_hits = [h for h in hits if h.chunk.project_id]
        if len(project_hits) < limit:
            project_hits = self.retrieve(
                question, k=10, filters=Filters(kind="project"), vector=vector
            )
        out: list[ProjectRef] = []
        seen: set[str] = set()
        for h in project_hits:
            c, s = h.chunk, h.dense
            if c.project_id in seen or c.project_id is None:
                continue
            seen.add(c.project_id)
            p = self.project(c.project_id) or {}
            out.append(ProjectRef(c.project_id, p.get("title", c.project_id), c.municipality,
                                  round(s, 4), p.get("summary", "")))  # fmt: skip
            if len(out) == limit:
                break
        return out

    # ---- projects --------------------------------------------------------------------------
    def project(self, project_id: str) -> dict | None:
        doc = self.store.document_by_key(f"project:{project_id}")
        return doc.meta.get("project") if doc else None

    def projects(self) -> list[dict]:
        return [
            d.meta["project"]
            for d in self.store.documents(kind="project")
            if "project" in d.meta
        ]

    def similar(
        self,
        text: str | None = None,
        project_id: str | None = None,
        exclude_municipality: str | None = None,
        k: int = 5,
        themes: Iterable[str] | None = None,
        stage: str | None = None,
        status: str | None = None,
    ) -> list[SimilarProject]:
        """Comparable projects for a free text or for a project (its own municipality excluded
        by default, unless `exclude_municipality` is given as '').

        Args:
            themes: keep projects with at least one of these themes.
            stage, status: keep projects at this value-chain stage / with this status.
        """
        wanted_themes = {t for t in (themes or []) if t}

        def keep(p: dict) -> bool:
            return (
                (not wanted_themes or bool(wanted_themes & set(p.get("themes", []))))
                and (not stage or p.get("stage") == stage)
                and (not status or p.get("status") == status)
            )

        base: dict | None = None
        if project_id:
            base = self.project(project_id)
            if base is None:
                raise KeyError(f"no project with id '{project_id}'")
            doc = self.store.document_by_key(f"project:{project_id}")
            rowids = [c.rowid for c in self.store.chunks_of(doc.id)]  # type: ignore[union-attr]
            vec = self.store.vectors_of(rowids).mean(axis=0)
            vec = vec / (np.linalg.norm(vec) or 1.0)
            query_text = Project.model_validate(base).text()
            if exclude_municipality is None:
                exclude_municipality = base["municipality"]
        elif text:
            vec = self.embedder.embed_queries([text])[0]
            query_text = text
        else:
            raise ValueError("give a text or a project id")
        filters = Filters(kind="project", exclude_municipality=slugify(exclude_municipality)
                          if exclude_municipality else None)  # fmt: skip
        # Record filters apply after the search: look at every project chunk when they are set.
        depth = k * 4 + 4 if not (wanted_themes or stage or status) else 10_000
        hits = self.store.search(vec, depth, filters, text=query_text, mode=self.mode)
        out: list[SimilarProject] = []
        seen = {project_id}
        for h in hits:
            c, score = h.chunk, h.dense
            if c.project_id in seen or c.project_id is None:
                continue
            seen.add(c.project_id)
            p = self.project(c.project_id)
            if p is None or not keep(p):
                continue
            out.append(self._similar_entry(p, score, base, text))
            if len(out) == k:
                break
        return out

    def _similar_entry(
        self, p: dict, score: float, base: dict | None, text: str | None
    ) -> SimilarProject:
        blocks, themes = list(p["building_blocks"]), list(p["themes"])
        if base is not None:
            shared_b = [b for b in blocks if b in base["building_blocks"]]
            shared_t = [t for t in themes if t in base["themes"]]
        catalogue = self.building_blocks()
        matching: list[str] = []
        if base is None:
            # Free text, Dutch or English: compare stemmed words in both languages.
            query = terms(text or "")
            shared_b = [b for b in blocks if query & terms(
                f"{b.replace('-', ' ')} {catalogue.get(b, {}).get('name', '')}")]  # fmt: skip
            shared_t = [t for t in themes if query & terms(t.replace("-", " "))]
            own = terms(f"{p['title']} {p.get('summary', '')}")
            matching = sorted({w for w in re.findall(r"[^\W_]{3,}", (text or "").lower())
                               if terms(w) & own})[:6]  # fmt: skip
        names = [catalogue.get(b, {}).get("name", b) for b in shared_b]
        parts = []
        if names:
            parts.append("shared building blocks: " + ", ".join(names))
        if shared_t:
            parts.append("shared themes: " + ", ".join(shared_t))
        if matching:
            parts.append("matching words: " + ", ".join(matching))
        why = "; ".join(parts) or f"similar description (score {score:.2f})"
        return SimilarProject(
            id=p["id"], title=p["title"], municipality=p["municipality"], score=round(score, 4),
            why=why, shared_building_blocks=shared_b, shared_themes=shared_t,
            building_blocks=blocks, themes=themes, status=p.get("status"), stage=p.get("stage"),
            summary=p.get("summary", ""),
        )  # fmt: skip

    # ---- overview ------------------------------------------------------------------------------
    def stats(self) -> dict:
        m = self.store.manifest()
        return {
            **self.store.counts(),
            "model": m.get("model"),
            "dimension": int(m.get("dim", 0)),
            "index": self.store.vectors.kind,
            "home": str(self.home),
            "generation": int(m.get("generation", 0)),
        }

    def close(self) -> None:
        self.store.close()


def _multilingual(embedder: Embedder) -> bool:
    """Does the embedder place Dutch and English in one space (no rendering needed)?"""
    flag = getattr(embedder, "multilingual", None)
    return bool(flag) if flag is not None else "multilingual" in str(embedder.name).lower()


class _EmbedBatches:
    """Ingest's pipeline: documents are chunked as their files are read, their chunks embedded
    many documents at a time in a background thread (while the next files are read), then
    each document is stored in its own transaction, in order. Result lines keep the order of
    the files; a file's line is given once its documents are stored."""

    def __init__(self, kb: KnowledgeBase, emit: Callable[[list[IngestResult]], None]):
        from concurrent.futures import ThreadPoolExecutor

        self.kb, self.emit = kb, emit
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
        future = self.pool.submit(self.kb.embedder.embed_documents, texts)
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
                row, rows, vecs = self.kb._prepare(doc, data, planned=(chunks, texts, vecs))
                replaced = self.kb.store.put(row, rows, vecs)
                outcome[doc.id] = ("replaced" if replaced else "added", "")
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
