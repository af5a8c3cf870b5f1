"""The store: SQLite is the source of truth (rows and vectors); FAISS is a derived, persisted cache.

Writes are atomic: a document and its chunks change in one SQLite transaction, which also
bumps a generation number; the FAISS file is then written beside the old one under the new
generation's name and renamed into place. On open, a FAISS file of another generation (a
crash between the two steps) is ignored and rebuilt from SQLite, so the store a reader opens
is always the last committed state.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import Bm25Index
from index.fusion import fuse
from index.vectors import FLAT_MAX, VectorIndex, load_index, make_index

SCHEMA_VERSION = "2"
# Visibility of a document: everyone, or only the users of its municipality (and admins).
VISIBILITIES = ("regional", "municipality")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY, key TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL,
  kind TEXT NOT NULL, municipality TEXT, language TEXT, pages INTEGER, project_id TEXT,
  added TEXT NOT NULL, stored_path TEXT, meta TEXT NOT NULL DEFAULT '{}',
  visibility TEXT NOT NULL DEFAULT 'regional');
CREATE INDEX IF NOT EXISTS documents_key ON documents(key);
CREATE TABLE IF NOT EXISTS chunks (
  rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  position INTEGER NOT NULL, text TEXT NOT NULL, embed_text TEXT NOT NULL,
  page INTEGER, section TEXT, kind TEXT NOT NULL, municipality TEXT, language TEXT,
  project_id TEXT, building_blocks TEXT NOT NULL DEFAULT '[]', vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
-- filters look row ids up by these; without them a filter reads every row's vector
CREATE INDEX IF NOT EXISTS chunks_municipality ON chunks(municipality);
CREATE INDEX IF NOT EXISTS chunks_kind ON chunks(kind);
-- accounts (schema 2): the password hash is argon2's encoded string, never the password
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY, municipality TEXT NOT NULL, role TEXT NOT NULL,
  password_hash TEXT NOT NULL, created TEXT NOT NULL);
-- a session is kept by the sha-256 of its cookie token: a copy of the database opens none
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, document_id TEXT, title TEXT, municipality TEXT, visibility TEXT,
  detail TEXT NOT NULL DEFAULT '');
"""


class StoreError(Exception):
    """The store cannot be used as asked (for example: built with another model)."""


@dataclass(frozen=True)
class DocumentRow:
    id: str
    key: str
    source: str
    title: str
    kind: str
    municipality: str | None = None
    language: str | None = None
    pages: int | None = None
    project_id: str | None = None
    added: str = ""
    stored_path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    visibility: str = "regional"  # regional | municipality (VISIBILITIES)


@dataclass(frozen=True)
class ChunkRow:
    id: str
    document_id: str
    position: int
    text: str
    embed_text: str
    kind: str
    page: int | None = None
    section: str | None = None
    municipality: str | None = None
    language: str | None = None
    project_id: str | None = None
    building_blocks: tuple[str, ...] = ()
    rowid: int | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk: its fused score, its cosine to the query and its BM25 score."""

    chunk: ChunkRow
    score: float
    dense: float
    lexical: float = 0.0


MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Filters:
    """Metadata filters; None means any.

    `see_all` False limits everything to what one viewer may see: documents of visibility
    'regional', and those of `viewer_municipality` (kb/access.py builds these two from the
    user). Every search, list and count of the store goes through `sql`, so this is the one
    place where access is enforced.
    """

    municipality: str | None = None
    kind: str | None = None
    exclude_municipality: str | None = None
    building_block: str | None = None
    since: int | None = None  # only documents dated this year or later
    viewer_municipality: str | None = None
    see_all: bool = True

    def sql(self, table: str = "chunks") -> tuple[str, list[Any]]:
        """The WHERE clause and its arguments for the `chunks` or the `documents` table."""
        clauses, args = [], []
        if not self.see_all:
            visible = "(visibility = 'regional' OR municipality = ?)"
            clauses.append(visible if table == "documents"
                           else f"document_id IN (SELECT id FROM documents WHERE {visible})")
            args.append(self.viewer_municipality or "")
        if self.municipality:
            clauses.append("municipality = ?")
            args.append(self.municipality)
        if self.kind:
            clauses.append("kind = ?")
            args.append(self.kind)
        if self.exclude_municipality:
            clauses.append("(municipality IS NULL OR municipality != ?)")
            args.append(self.exclude_municipality)
        if self.building_block and table == "chunks":
            clauses.append("EXISTS (SELECT 1 FROM json_each(building_blocks) WHERE value = ?)")
            args.append(self.building_block)
        if self.since:
            # The date ingest found ("2025", "2025-03-12"); undated documents are left out.
            dated = "CAST(substr(json_extract(meta, '$.date'), 1, 4) AS INTEGER) >= ?"
            clauses.append(dated if table == "documents"
                           else f"document_id IN (SELECT id FROM documents WHERE {dated})")
            args.append(int(self.since))
        return (" AND ".join(clauses) or "1"), args

    @property
    def empty(self) -> bool:
        return self.sql()[0] == "1"


_CHUNK_COLS = (
    "rowid, id, document_id, position, text, embed_text, kind, page, section, municipality,"
    " language, project_id, building_blocks"
)
_DOC_COLS = (
    "id, key, source, title, kind, municipality, language, pages, project_id, added,"
    " stored_path, meta, visibility"
)


def _chunk(row: sqlite3.Row) -> ChunkRow:
    return ChunkRow(
        rowid=row[0], id=row[1], document_id=row[2], position=row[3], text=row[4],
        embed_text=row[5], kind=row[6], page=row[7], section=row[8], municipality=row[9],
        language=row[10], project_id=row[11], building_blocks=tuple(json.loads(row[12])),
    )  # fmt: skip


def _doc(row: sqlite3.Row) -> DocumentRow:
    return DocumentRow(*row[:11], meta=json.loads(row[11]), visibility=row[12])


class Store:
    """Documents, chunks and their vectors in one folder.

    Args:
        home: the data folder (created if missing).
        model: the embedding model's name, dimension and fingerprint; a store built with
            another model refuses to open for search or write (`kb reindex` rebuilds it).
        check_model: False to open for inspection only (`kb stats`, `kb doctor`).
        flat_max: vectors below which the vector index is exact (the setting KB_FLAT_MAX).
    """

    def __init__(
        self, home: Path, model: tuple[str, int, str], check_model: bool = True,
        flat_max: int = FLAT_MAX,
    ):  # fmt: skip
        self.home = Path(home)
        self.flat_max = flat_max
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "kb.sqlite"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self.model_name, self.dim, self.fingerprint = model
        self._batch_depth = 0
        self._dirty = False  # written since the FAISS file was last persisted
        self._init_manifest(check_model)
        # The generation the in-memory FAISS index reflects; another process's commits
        # (`kb ingest` while `kb serve` runs) move the stored one past it: see _refresh.
        self._seen = self.generation
        self.vectors = self._load_vectors()
        self._bm25: Bm25Index | None = None
        self._drop_older_caches()

    def _drop_older_caches(self) -> None:
        """Delete caches of generations before the current one: a process killed between
        writing the new FAISS file and deleting the old one leaves it behind. Generations only
        grow, so no process needs them again; half-written `.tmp` files are left to their
        writer (another process may be writing one now)."""
        gen = self._seen
        for path in [*self.home.glob("vectors-*.faiss"), *self.home.glob("bm25-*")]:
            number = path.name.removeprefix("vectors-").removeprefix("bm25-")
            number = number.removesuffix(".faiss")
            if number.isdigit() and int(number) < gen:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    # ---- manifest -------------------------------------------------------------------
    def manifest(self) -> dict[str, str]:
        with self._lock:  # never mid-way through another thread's transaction
            return dict(self._db.execute("SELECT key, value FROM manifest").fetchall())

    def _init_manifest(self, check_model: bool) -> None:
        m = self.manifest()
        if not m:
            self._set_manifest(
                model=self.model_name, dim=str(self.dim), fingerprint=self.fingerprint,
                schema=SCHEMA_VERSION, generation="0", index="flat",
            )  # fmt: skip
            return
        if m.get("schema") == "1":
            self._migrate_1_to_2()
            m["schema"] = SCHEMA_VERSION
        if m.get("schema") != SCHEMA_VERSION:
            raise StoreError(
                f"store schema {m.get('schema')} is not {SCHEMA_VERSION}: run `kb reindex`"
            )
        if check_model and (m["model"], m["dim"], m["fingerprint"]) != (
            self.model_name, str(self.dim), self.fingerprint,
        ):  # fmt: skip
            raise StoreError(
                f"the store in {self.home} was built with the embedding model "
                f"'{m['model']}' ({m['dim']} dimensions), not '{self.model_name}' "
                f"({self.dim}): run `kb reindex` to rebuild it with the current model"
            )

    def _migrate_1_to_2(self) -> None:
        """Schema 2 adds each document's visibility (every existing one stays 'regional')
        and the users, sessions and audit tables (created by _SCHEMA already)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cols = {r[1] for r in self._db.execute("PRAGMA table_info(documents)")}
                if "visibility" not in cols:
                    self._db.execute("ALTER TABLE documents ADD COLUMN visibility TEXT NOT NULL "
                                     "DEFAULT 'regional'")  # fmt: skip
                self._set_manifest(schema=SCHEMA_VERSION)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _set_manifest(self, **values: str) -> None:
        self._db.executemany(
            "INSERT INTO manifest(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    def manifest_value(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM manifest WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def generation(self) -> int:
        return int(self.manifest_value("generation") or 0)

    # ---- vectors ----------------------------------------------------------------------
    def _vector_file(self, generation: int) -> Path:
        return self.home / f"vectors-{generation}.faiss"

    def _load_vectors(self) -> VectorIndex:
        dim = int(self.manifest().get("dim", self.dim))
        path = self._vector_file(self.generation)
        if path.exists():
            try:
                return load_index(path, self.flat_max)
            except Exception:  # a damaged cache is rebuilt, never trusted
                pass
        index = self._rebuild_vectors(dim)
        self._persist_vectors(index)
        return index

    def _rebuild_vectors(self, dim: int) -> VectorIndex:
        # All at once, so that the index type fits the final size (index.vectors.make_index).
        id_parts, vec_parts = [np.zeros(0, np.int64)], [np.zeros((0, dim), np.float32)]
        cur = self._db.execute("SELECT rowid, vector FROM chunks ORDER BY rowid")
        while rows := cur.fetchmany(10_000):
            id_parts.append(np.array([r[0] for r in rows], dtype=np.int64))
            raw = b"".join(r[1] for r in rows)
            vec_parts.append(np.frombuffer(raw, dtype=np.float32).reshape(-1, dim))
        return make_index(dim, np.concatenate(id_parts), np.vstack(vec_parts), self.flat_max)

    def _persist_vectors(self, index: VectorIndex | None = None) -> None:
        if self._seen != self.generation:  # another process has committed since
            if index is not None:
                return  # a file of this generation's name would lie; the next open rebuilds
            with self._read_snapshot():
                self._refresh()  # the in-memory index of one committed state, then persisted
        index = index or self.vectors
        gen = self._seen
        target = self._vector_file(gen)
        tmp = target.with_suffix(".faiss.tmp")
        index.write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        if self.manifest_value("index") != index.describe():  # the type the size chose
            self._set_manifest(index=index.describe())
        for old in self.home.glob("vectors-*.faiss*"):  # other generations, crashed .tmp files
            if old != target:
                old.unlink(missing_ok=True)
        for old in self.home.glob("bm25-*"):
            if old.name != f"bm25-{gen}":
                shutil.rmtree(old, ignore_errors=True)
        self._dirty = False

    @property
    def bm25(self) -> Bm25Index:
        """The BM25 index of the current generation: loaded, or rebuilt from SQLite."""
        with self._lock:
            if self._bm25 is None:
                folder = self.home / f"bm25-{self.generation}"
                try:
                    self._bm25 = Bm25Index.load(folder)
                except Exception:  # missing or damaged: derive it again
                    rows = self._db.execute(
                        "SELECT rowid, embed_text FROM chunks ORDER BY rowid"
                    ).fetchall()
                    self._bm25 = Bm25Index.build([r[0] for r in rows], [r[1] for r in rows])
                    tmp = folder.with_name(folder.name + ".tmp")
                    shutil.rmtree(tmp, ignore_errors=True)
                    self._bm25.save(tmp)
                    shutil.rmtree(folder, ignore_errors=True)
                    os.replace(tmp, folder)
            return self._bm25

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes, one FAISS file write at the end (a crash in between is still safe)."""
        with self._lock:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._dirty:
                    self._persist_vectors()

    def _after_write(self) -> None:
        self._bm25 = None  # derived from SQLite again on the next lexical search
        self._dirty = True
        if self._batch_depth == 0:
            self._persist_vectors()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        current = self.generation == self._seen  # no other process wrote since our caches
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            gen = self.generation + 1
            self._set_manifest(generation=str(gen))
            self._db.execute("COMMIT")
            self._seen = gen if current else -1  # -1: derive the caches again before use

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        """One read transaction: every read inside sees the same committed state."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def _refresh(self) -> None:
        """Derive the in-memory FAISS and BM25 again when another process has committed
        since they were made, so that a search never mixes two states of the store."""
        gen = self.generation
        if gen == self._seen:
            return
        self._seen = gen
        try:
            self.vectors = load_index(self._vector_file(gen), self.flat_max)
        except Exception:  # not written yet (the writer persists at the end of its batch)
            self.vectors = self._rebuild_vectors(int(self.manifest().get("dim", self.dim)))
        self._bm25 = None

    # ---- writes -------------------------------------------------------------------------
    def put(self, doc: DocumentRow, chunks: Sequence[ChunkRow], vectors: np.ndarray,
            actor: str | None = None) -> list[str]:  # fmt: skip
        """Add a document, replacing any document with the same key. Returns replaced ids.

        Args:
            actor: who adds it; given, the audit log records it in the same transaction.
        """
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or (len(vectors) and vectors.shape[1] != self.vectors.dim):
            raise ValueError(f"vectors must have {self.vectors.dim} dimensions")
        with self._lock:
            with self._transaction() as db:
                old = [r[0] for r in db.execute(
                    "SELECT id FROM documents WHERE key = ? OR id = ?", (doc.key, doc.id))]
                old_rowids = self._rowids(old)
                db.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in old])
                new_ids = self._insert(db, doc, chunks, vectors)
                if actor is not None:
                    replaced = [i for i in old if i != doc.id]
                    self._audit(db, actor, "replaced" if replaced else "added", doc,
                                f"replaces {', '.join(replaced)}" if replaced else "")  # fmt: skip
            # Only after the commit does the in-memory index change: readers never see
            # a document that is not in SQLite, nor half of one.
            self.vectors.remove(old_rowids)
            self.vectors.add(np.array(new_ids, dtype=np.int64), vectors)
            self._after_write()
        return [i for i in old if i != doc.id]

    @staticmethod
    def _insert(
        db: sqlite3.Connection, doc: DocumentRow, chunks: Sequence[ChunkRow], vectors: np.ndarray
    ) -> list[int]:
        added = doc.added or datetime.now(UTC).isoformat(timespec="seconds")
        db.execute(
            f"INSERT OR REPLACE INTO documents({_DOC_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc.id, doc.key, doc.source, doc.title, doc.kind, doc.municipality, doc.language,
             doc.pages, doc.project_id, added, doc.stored_path,
             json.dumps(doc.meta, ensure_ascii=False), doc.visibility),
        )  # fmt: skip
        new_ids = []
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for c, v in zip(chunks, vectors, strict=True):
            cur = db.execute(
                "INSERT INTO chunks(id, document_id, position, text, embed_text, kind, page,"
                " section, municipality, language, project_id, building_blocks, vector)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (c.id, doc.id, c.position, c.text, c.embed_text, c.kind, c.page, c.section,
                 c.municipality, c.language, c.project_id, json.dumps(list(c.building_blocks)),
                 v.tobytes()),
            )  # fmt: skip
            new_ids.append(int(cur.lastrowid or 0))
        return new_ids

    def set_title(self, document_id: str, title: str) -> bool:
        """Give a document another title (shown in citations and lists). The vectors and
        the caches are not touched: the generation stays."""
        with self._lock:
            n = self._db.execute("UPDATE documents SET title = ? WHERE id = ?",
                                 (title, document_id)).rowcount  # fmt: skip
        return n > 0

    def remove(self, document_id: str, actor: str | None = None) -> bool:
        """Remove a document; an `actor` given, the audit log records it (same transaction)."""
        with self._lock:
            with self._transaction() as db:
                doc = self.document(document_id)
                if actor is not None and doc is not None:
                    self._audit(db, actor, "removed", doc)
                rowids = self._rowids([document_id])
                n = db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
            self.vectors.remove(rowids)
            self._after_write()
        return n > 0

    def replace_all(
        self,
        model: tuple[str, int, str],
        entries: Sequence[tuple[DocumentRow, Sequence[ChunkRow], np.ndarray]],
    ) -> None:
        """Swap the whole content (and the model it was embedded with) in one transaction."""
        name, dim, fingerprint = model
        with self._lock:
            with self._transaction() as db:
                db.execute("DELETE FROM chunks")
                db.execute("DELETE FROM documents")
                self._set_manifest(model=name, dim=str(dim), fingerprint=fingerprint,
                                   schema=SCHEMA_VERSION)  # fmt: skip
                for doc, chunks, vectors in entries:
                    self._insert(db, doc, chunks, vectors)
            self.model_name, self.dim, self.fingerprint = model
            self.vectors = self._rebuild_vectors(dim)
            self._after_write()

    def set_visibility(self, document_id: str, visibility: str, actor: str) -> DocumentRow | None:
        """Change a document's visibility (audited); the document as it was, or None."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")
        with self._lock:
            with self._transaction() as db:
                doc = self.document(document_id)
                if doc is not None:
                    db.execute("UPDATE documents SET visibility = ? WHERE id = ?",
                               (visibility, document_id))  # fmt: skip
                    self._audit(db, actor, "visibility", replace(doc, visibility=visibility),
                                f"{doc.visibility} -> {visibility}")  # fmt: skip
            self._after_write()  # the generation moved: caches derived per viewer follow
        return doc

    @staticmethod
    def _audit(db: sqlite3.Connection, actor: str, action: str, doc: DocumentRow,
               detail: str = "") -> None:  # fmt: skip
        db.execute(
            "INSERT INTO audit(at, actor, action, document_id, title, municipality, visibility,"
            " detail) VALUES (?,?,?,?,?,?,?,?)",
            (datetime.now(UTC).isoformat(timespec="seconds"), actor, action, doc.id, doc.title,
             doc.municipality, doc.visibility, detail),
        )  # fmt: skip

    def audit(self, filters: Filters | None = None) -> list[dict]:
        """The audit log, oldest first; with viewer filters, only entries about documents of
        the viewer's municipality or of regional visibility (at the time of the entry)."""
        where, args = "1", []
        if filters is not None and not filters.see_all:
            where, args = "(visibility = 'regional' OR municipality = ?)", [
                filters.viewer_municipality or ""]  # fmt: skip
        cols = ("seq", "at", "actor", "action", "document_id", "title", "municipality",
                "visibility", "detail")  # fmt: skip
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(cols)} FROM audit WHERE {where} ORDER BY seq", args
            ).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # ---- accounts (no generation bump: nothing derived depends on them) ---------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put_user(self, name: str, municipality: str, role: str, password_hash: str) -> None:
        """Add a user, or change an existing one (their sessions end)."""
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            db.execute(
                "INSERT INTO users(name, municipality, role, password_hash, created)"
                " VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
                " municipality = excluded.municipality, role = excluded.role,"
                " password_hash = excluded.password_hash",
                (name, municipality, role, password_hash,
                 datetime.now(UTC).isoformat(timespec="seconds")),
            )  # fmt: skip

    def user(self, name: str) -> dict | None:
        """A user's row (name, municipality, role, password_hash, created), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT name, municipality, role, password_hash, created FROM users"
                " WHERE name = ?", (name,)).fetchone()  # fmt: skip
        keys = ("name", "municipality", "role", "password_hash", "created")
        return dict(zip(keys, row, strict=True)) if row else None

    def users(self) -> list[dict]:
        """Every user without the password hash, by name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, municipality, role, created FROM users ORDER BY name").fetchall()
        return [dict(zip(("name", "municipality", "role", "created"), r, strict=True))
                for r in rows]  # fmt: skip

    def has_users(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def delete_user(self, name: str) -> bool:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            return db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def add_session(self, token_hash: str, user: str, created: float, expires: float) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (created,))  # old ones go
            db.execute("INSERT INTO sessions(token_hash, user, created, expires) VALUES"
                       " (?,?,?,?)", (token_hash, user, created, expires))  # fmt: skip

    def session(self, token_hash: str) -> tuple[str, float] | None:
        """A session's user and expiry time (seconds since the epoch), or None."""
        with self._lock:
            row = self._db.execute("SELECT user, expires FROM sessions WHERE token_hash = ?",
                                   (token_hash,)).fetchone()  # fmt: skip
        return (row[0], row[1]) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def manifest_json(self, key: str):
        value = self.manifest_value(key)
        return json.loads(value) if value else None

    def set_manifest_json(self, key: str, value) -> None:
        with self._lock:
            self._set_manifest(**{key: json.dumps(value, ensure_ascii=False)})

    def _rowids(self, document_ids: Sequence[str]) -> np.ndarray:
        out: list[int] = []
        for d in document_ids:
            rows = self._db.execute("SELECT rowid FROM chunks WHERE document_id = ?", (d,))
            out += [r[0] for r in rows]
        return np.array(out, dtype=np.int64)

    # ---- reads ----------------------------------------------------------------------------
    def _visible(self, filters: Filters | None) -> tuple[str, list[Any]]:
        """The documents-table clause of filters (only their kind, municipality and access)."""
        return (filters or Filters()).sql("documents")

    def hides_any(self, filters: Filters) -> bool:
        """Is any document hidden from the filters' viewer? When none is, a search need not
        list the allowed row ids (the common case: a store without private documents)."""
        if filters.see_all:
            return False
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM documents WHERE visibility != 'regional'"
                " AND (municipality IS NULL OR municipality != ?) LIMIT 1",
                (filters.viewer_municipality or "",),
            ).fetchone()
        return row is not None

    def has_document(self, document_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
            return row is not None

    def document(self, document_id: str, filters: Filters | None = None) -> DocumentRow | None:
        """A document by id; None also when the filters' viewer may not see it."""
        where, args = self._visible(filters)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE id = ? AND {where}", [document_id, *args]
            ).fetchone()
        return _doc(row) if row else None

    def documents(self, kind: str | None = None,
                  filters: Filters | None = None) -> list[DocumentRow]:  # fmt: skip
        """The documents (of a kind) that pass the filters, by kind and title."""
        where, args = self._visible(filters)
        if kind:
            where, args = f"{where} AND kind = ?", [*args, kind]
        sql = f"SELECT {_DOC_COLS} FROM documents WHERE {where} ORDER BY kind, title"
        with self._lock:
            return [_doc(r) for r in self._db.execute(sql, args)]

    def document_by_key(self, key: str, filters: Filters | None = None) -> DocumentRow | None:
        where, args = self._visible(filters)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE key = ? AND {where}", [key, *args]
            ).fetchone()
        return _doc(row) if row else None

    def chunks(self, rowids: Sequence[int]) -> dict[int, ChunkRow]:
        if not len(rowids):
            return {}
        out: dict[int, ChunkRow] = {}
        ids = [int(i) for i in rowids]
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT {_CHUNK_COLS} FROM chunks WHERE rowid IN ({marks})"
                for r in self._db.execute(sql, part):
                    out[r[0]] = _chunk(r)
        return out

    def chunks_of(self, document_id: str) -> list[ChunkRow]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks WHERE document_id = ? ORDER BY position",
                (document_id,),
            ).fetchall()
        return [_chunk(r) for r in rows]

    def iter_chunks(self) -> Iterator[ChunkRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_CHUNK_COLS} FROM chunks ORDER BY rowid").fetchall()
        yield from (_chunk(r) for r in rows)

    def vectors_of(self, rowids: Sequence[int]) -> np.ndarray:
        with self._lock, self._read_snapshot():
            self._refresh()
            return np.stack([self.vectors.reconstruct(np.array([i], np.int64))[0] for i in rowids])

    def allowed_rowids(self, filters: Filters) -> np.ndarray | None:
        """Row ids that pass the filters; None when nothing is filtered."""
        if not filters.see_all and not self.hides_any(filters):
            filters = replace(filters, see_all=True)
        if filters.empty:
            return None
        where, args = filters.sql()
        with self._lock:
            rows = self._db.execute(f"SELECT rowid FROM chunks WHERE {where}", args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search(
        self,
        query: np.ndarray,
        k: int,
        filters: Filters | None = None,
        text: str | None = None,
        mode: str = "dense",
        depth: int = 50,
        dense_weight: float = 0.5,
        rrf_k: int = 60,
        expansion: Sequence[str] = (),
    ) -> list[Hit]:
        """The k best chunks for a query, best first.

        Args:
            query: the query's vector (for dense and hybrid).
            text: the query's text (for bm25 and hybrid).
            mode: 'dense', 'bm25', or 'hybrid' (reciprocal rank fusion of both).
            depth: how many candidates each retriever gives to the fusion.
            dense_weight: the dense ranking's share of the fusion (BM25 has the rest).
            rrf_k: the fusion's rank constant (smaller: the first ranks count more).
            expansion: stemmed terms BM25 adds to the text's own (glossary translations).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock, self._read_snapshot():
            self._refresh()
            allowed = self.allowed_rowids(filters or Filters())
            if allowed is not None and not len(allowed):
                return []
            n = max(k, depth) if mode == "hybrid" else k
            dense_ids, dense_scores = (
                self.vectors.search(query, n, allowed) if mode != "bm25" else ([], [])
            )
            lex_ids, lex_scores = (
                self.bm25.search(text or "", n, allowed, extra=expansion)
                if mode != "dense" and text else ([], [])
            )
            if mode == "dense":
                ranked = list(zip(dense_ids, dense_scores, strict=True))
            elif mode == "bm25":
                ranked = list(zip(lex_ids, lex_scores, strict=True))
            else:
                ranked = fuse(dense_ids, lex_ids, dense_weight, rrf_k)
            ranked = ranked[:k]
            rows = self.chunks([i for i, _ in ranked])
            lex = dict(zip(lex_ids, lex_scores, strict=True))
            dense = dict(zip(dense_ids, dense_scores, strict=True))
            hits = []
            for i, score in ranked:
                if i not in rows:
                    continue
                cos = dense.get(i)
                if cos is None and query is not None:
                    vec = self.vectors.reconstruct(np.array([i], np.int64))[0]
                    cos = float(np.dot(vec, query.ravel()))
                hits.append(Hit(rows[i], float(score), float(cos or 0.0), float(lex.get(i, 0.0))))
            return hits

    def counts(self, filters: Filters | None = None) -> dict:
        """Documents, chunks and projects that pass the filters (a viewer's counts)."""
        filters = filters or Filters()
        docs, dargs = filters.sql("documents")
        chunks_where, cargs = filters.sql("chunks")
        with self._lock:
            by_kind = dict(self._db.execute(
                f"SELECT kind, COUNT(*) FROM documents WHERE {docs} GROUP BY kind", dargs
            ).fetchall())  # fmt: skip
            chunks = self._db.execute(
                f"SELECT COUNT(*) FROM chunks WHERE {chunks_where}", cargs
            ).fetchone()[0]
        return {
            "documents": sum(by_kind.values()), "chunks": chunks,
            "projects": by_kind.get("project", 0),
            # the index's own total would count hidden chunks too
            "vectors": self.vectors.ntotal if filters.see_all else chunks,
            "by_kind": by_kind,
        }  # fmt: skip

    def chunk_counts(self, filters: Filters | None = None) -> dict[str, int]:
        """Number of chunks per document id (of the documents that pass the filters)."""
        where, args = (filters or Filters()).sql("chunks")
        with self._lock:
            return dict(self._db.execute(
                f"SELECT document_id, COUNT(*) FROM chunks WHERE {where} GROUP BY document_id",
                args))  # fmt: skip

    def rebuild_caches(self) -> None:
        """Derive the FAISS file and the BM25 folder of this generation from SQLite again
        (`kb doctor --repair`); files of other generations and crashed .tmp files go."""
        with self._lock:
            self._seen = self.generation
            self.vectors = self._rebuild_vectors(int(self.manifest().get("dim", self.dim)))
            shutil.rmtree(self.home / f"bm25-{self.generation}", ignore_errors=True)
            self._bm25 = None
            self._persist_vectors()
            self.bm25  # noqa: B018 - built and saved under this generation's name

    def close(self) -> None:
        with self._lock:
            self._db.close()
