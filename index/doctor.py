"""`kb doctor`: is a store whole and consistent, and what can be rebuilt from SQLite?

SQLite is the source of truth; the FAISS file `vectors-<generation>.faiss`, the BM25 folder
`bm25-<generation>/` and the stored copies in `files/` hang off it. The check never changes
anything (it opens SQLite read-only and looks at the files as they are, before a `Store`
would quietly rebuild a stale cache); `repair=True` then rebuilds what is derived and
deletes what is stale, and checks again. What SQLite itself lacks (a damaged database, a
chunk without its vector, half a document, a lost stored copy) cannot be derived: it is
reported for a person to act on (re-ingest the file, or restore a backup).

Run the repair while nothing else writes to the store: a running ingest writes a stored
copy just before the transaction that refers to it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.bm25 import Bm25Index
from index.vectors import load_index

FIXABLE = "fixable"  # derived or stale: --repair rebuilds or deletes it
PROBLEM = "problem"  # in the source of truth: needs a person


@dataclass
class Finding:
    level: str
    message: str
    repaired: bool = False

    def line(self) -> str:
        if self.repaired:
            return f"repaired: {self.message}"
        return f"{self.level}: {self.message}"


@dataclass
class Report:
    home: Path
    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    generation: int = 0

    @property
    def ok(self) -> bool:
        """Nothing is left to fix."""
        return all(f.repaired for f in self.findings)

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))

    def to_dict(self) -> dict:
        return {
            "home": str(self.home), "ok": self.ok, "documents": self.documents,
            "chunks": self.chunks, "generation": self.generation,
            "findings": [f.__dict__ for f in self.findings],
        }  # fmt: skip


def check(home: Path, repair: bool = False) -> Report:
    """Check the store in `home`; with `repair`, rebuild the derived files and check again."""
    home = Path(home)
    report = _check(home)
    if not repair or not any(f.level == FIXABLE for f in report.findings):
        return report
    _repair(home, report)
    after = _check(home)
    remaining = {f.message for f in after.findings}
    for f in report.findings:
        f.repaired = f.level == FIXABLE and f.message not in remaining
    known = {f.message for f in report.findings}
    report.findings += [f for f in after.findings if f.message not in known]
    return report


def _check(home: Path) -> Report:
    report = Report(home)
    db_path = home / "kb.sqlite"
    if not db_path.is_file():
        report.add(PROBLEM, f"no store in {home} (no kb.sqlite)")
        return report
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        report.add(PROBLEM, f"kb.sqlite cannot be opened ({e})")
        return report
    try:
        if not _check_sqlite(db, report):
            return report
        rowids = _check_vectors(home, report, db)
        _check_bm25(home, report, rowids)
        stored = {r[0] for r in db.execute("SELECT stored_path FROM documents") if r[0]}
        _check_files(home, report, stored)
    except sqlite3.DatabaseError as e:
        report.add(PROBLEM, f"kb.sqlite cannot be read ({e})")
    finally:
        db.close()
    return report


def _check_sqlite(db: sqlite3.Connection, report: Report) -> bool:
    """The database itself; False when it is too damaged to look further."""
    result = [r[0] for r in db.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        report.add(PROBLEM, "SQLite integrity check failed: " + "; ".join(result[:5]))
        return False
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if (
        not {"manifest", "documents", "chunks"} <= tables
        or not db.execute("SELECT 1 FROM manifest LIMIT 1").fetchone()
    ):
        if "documents" in tables and db.execute("SELECT 1 FROM documents LIMIT 1").fetchone():
            report.add(PROBLEM, "documents without the tables or manifest that describe them")
        return False  # created but never finished (a crash at the very start): still empty
    orphans = db.execute("SELECT COUNT(*) FROM pragma_foreign_key_check('chunks')").fetchone()[0]
    if orphans:
        report.add(PROBLEM, f"{orphans} chunks belong to no document")
    manifest = dict(db.execute("SELECT key, value FROM manifest"))
    missing = [k for k in ("model", "dim", "generation", "schema") if k not in manifest]
    if missing:
        report.add(PROBLEM, "the manifest lacks " + ", ".join(missing))
        return False
    report.generation = int(manifest["generation"])
    report.documents = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    report.chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    dim = int(manifest["dim"])
    bad = db.execute(
        "SELECT COUNT(*) FROM chunks WHERE vector IS NULL OR length(vector) != ?", (dim * 4,)
    ).fetchone()[0]
    if bad:
        report.add(PROBLEM, f"{bad} chunks lack a {dim}-dimensional vector")
    # A whole document has chunks numbered 0..n-1; anything else is half a document.
    half = db.execute(
        "SELECT d.id, COUNT(c.rowid), MIN(c.position), MAX(c.position),"
        " COUNT(DISTINCT c.position) FROM documents d"
        " LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.id"
        " HAVING COUNT(c.rowid) = 0 OR MIN(c.position) != 0"
        " OR MAX(c.position) + 1 != COUNT(c.rowid) OR COUNT(DISTINCT c.position) != COUNT(c.rowid)"
    ).fetchall()
    for doc_id, n, *_ in half[:10]:
        report.add(PROBLEM, f"document {doc_id[:12]} is incomplete ({n} chunks, not 0..n-1)")
    if len(half) > 10:
        report.add(PROBLEM, f"{len(half) - 10} more incomplete documents")
    return True


def _report_stale(home: Path, pattern: str, current: Path, what: str, report: Report) -> None:
    """Caches of other generations (or half-written ones) are garbage the store can delete."""
    for path in sorted(home.glob(pattern)):
        if path != current:
            report.add(FIXABLE, f"stale {what} {path.name} (not of generation {report.generation})")


def _check_vectors(home: Path, report: Report, db: sqlite3.Connection) -> np.ndarray:
    """The FAISS file against SQLite; returns the chunk row ids (sorted)."""
    rowids = np.array([r[0] for r in db.execute("SELECT rowid FROM chunks ORDER BY rowid")],
                      dtype=np.int64)  # fmt: skip
    gen = report.generation
    current = home / f"vectors-{gen}.faiss"
    _report_stale(home, "vectors-*", current, "FAISS file", report)
    if not current.is_file():
        report.add(FIXABLE, f"FAISS file {current.name} is missing (rebuilt when the store opens)")
        return rowids
    try:
        index = load_index(current)
        ids = np.sort(index.ids())
    except Exception as e:  # noqa: BLE001 - any damage means: rebuild
        report.add(FIXABLE, f"FAISS file {current.name} is unreadable ({type(e).__name__})")
        return rowids
    if not np.array_equal(ids, rowids):
        extra, lacking = len(np.setdiff1d(ids, rowids)), len(np.setdiff1d(rowids, ids))
        report.add(FIXABLE, f"FAISS file {current.name} holds {len(ids)} vectors for "
                            f"{len(rowids)} chunks ({lacking} missing, {extra} extra)")  # fmt: skip
        return rowids
    # The vectors themselves, a batch at a time (a large store does not fit twice in memory).
    cur = db.execute("SELECT rowid, vector FROM chunks WHERE length(vector) = ? ORDER BY rowid",
                     (index.dim * 4,))  # fmt: skip
    while rows := cur.fetchmany(10_000):
        truth = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        held = index.reconstruct(np.array([r[0] for r in rows], dtype=np.int64))
        if not np.allclose(held.ravel(), truth, atol=1e-6):
            report.add(FIXABLE, f"FAISS file {current.name} holds vectors that differ from SQLite")
            break
    return rowids


def _check_bm25(home: Path, report: Report, rowids: np.ndarray) -> None:
    gen = report.generation
    current = home / f"bm25-{gen}"
    _report_stale(home, "bm25-*", current, "BM25 folder", report)
    if not current.exists():
        return  # built on the first lexical search; nothing to check yet
    try:
        index = Bm25Index.load(current)
    except Exception as e:  # noqa: BLE001
        report.add(FIXABLE, f"BM25 folder {current.name} is unreadable ({type(e).__name__})")
        return
    n_docs = int(index.retriever.scores["num_docs"]) if index.retriever is not None else 0
    if not np.array_equal(np.sort(index.rowids), rowids) or n_docs != len(rowids):
        report.add(FIXABLE, f"BM25 folder {current.name} holds {len(index.rowids)} chunks, "
                            f"SQLite {len(rowids)}")  # fmt: skip


def _check_files(home: Path, report: Report, stored: set[str]) -> None:
    for rel in sorted(stored):
        if not (home / rel).is_file():
            report.add(PROBLEM, f"stored copy {rel} is missing (ingest the file again)")
    folder = home / "files"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            rel = path.relative_to(home).as_posix()
            if rel not in stored:
                report.add(FIXABLE, f"orphan file {rel} (no document refers to it)")


def _repair(home: Path, report: Report) -> None:
    import shutil

    from index.store import Store

    messages = " ".join(f.message for f in report.findings if f.level == FIXABLE)
    if "FAISS" in messages or "BM25" in messages:
        db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True)
        try:
            m = dict(db.execute("SELECT key, value FROM manifest"))
        finally:
            db.close()
        try:
            store = Store(home, (m["model"], int(m["dim"]), m["fingerprint"]), check_model=False)
            try:
                store.rebuild_caches()
            finally:
                store.close()
        except Exception as e:  # noqa: BLE001 - e.g. a vector of the wrong size in SQLite
            report.add(PROBLEM, f"FAISS and BM25 cannot be rebuilt ({type(e).__name__}: {e})")
        for path in home.glob("bm25-*"):  # a .tmp folder left by a crash
            if path.name != f"bm25-{report.generation}":
                shutil.rmtree(path, ignore_errors=True)
    if "orphan file" in messages:
        db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True)
        try:
            stored = {r[0] for r in db.execute("SELECT stored_path FROM documents") if r[0]}
        finally:
            db.close()
        for path in (home / "files").iterdir():
            if path.relative_to(home).as_posix() not in stored:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
