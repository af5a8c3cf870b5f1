"""Crash safety: `kb ingest` killed at random moments leaves a store that opens, is
consistent, and reaches exactly the uninterrupted state when the same ingest runs again.
`kb doctor` is the consistency oracle; the test also checks the files independently.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from index.bm25 import Bm25Index
from index.doctor import FIXABLE, PROBLEM, check
from index.embedder import make_embedder
from index.vectors import load_index
from kb.core import KnowledgeBase
from tests.conftest import ROOT, make_pdf
from tests.test_kb import PROJECT
from ui.cli import cli

KB = str(Path(sys.executable).with_name("kb"))
TRIALS = 22
TOPICS = ["open data", "privacy", "sensoren", "datagedreven werken", "cloud", "inclusie",
          "cybersecurity", "digitale tweeling", "slimme verlichting", "afvalinzameling",
          "parkeren", "participatie"]  # fmt: skip


def make_corpus(folder: Path) -> Path:
    """About 20 small files: PDFs of a few pages, Markdown with sections, project YAML."""
    (folder / "strategies").mkdir(parents=True)
    (folder / "guide").mkdir()
    (folder / "projects").mkdir()
    for i, topic in enumerate(TOPICS):
        pages = [
            f"Gemeente {i} en {topic}: hoofdstuk {p}. " + f"Over {topic} in wijk {p} en {i}. " * 12
            for p in range(1, 4)
        ]
        make_pdf(folder / "strategies" / f"s{i:02d}.pdf", pages)
    for i, topic in enumerate(TOPICS[:6]):
        sections = "\n\n".join(f"## {topic} deel {s}\n\n" + f"Tekst over {topic}, deel {s}. " * 20
                               for s in range(1, 4))  # fmt: skip
        (folder / "guide" / f"g{i}.md").write_text(f"# Gids {topic}\n\n{sections}\n")
    for i, m in enumerate(["delft", "schiedam", "vlaardingen"]):
        (folder / "projects" / f"p{i}.yaml").write_text(
            PROJECT.format(id=f"{m}-parking", title=f"Parking {m}", municipality=m)
        )
    return folder


def snapshot(home: Path) -> tuple:
    """The content of a store: documents, chunks with their vectors, stored copies."""
    db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True)
    try:
        docs = sorted(db.execute("SELECT id, key, title, kind, stored_path FROM documents"))
        chunks = sorted(db.execute("SELECT id, document_id, position, text, vector FROM chunks"))
    finally:
        db.close()
    files = sorted(p.name for p in (home / "files").iterdir()) if (home / "files").is_dir() else []
    return docs, chunks, files


def check_files(home: Path, reference: tuple) -> None:
    """Independently of `kb doctor`: whole documents only, each chunk with its vector, and the
    caches of the current generation (where they exist) hold exactly the chunk rows."""
    if not (home / "kb.sqlite").exists():
        return  # killed before the store was created
    db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "manifest" not in tables:
            assert "documents" not in tables or not db.execute("SELECT * FROM documents").fetchall()
            return  # killed while the schema was being created: the next open completes it
        manifest = dict(db.execute("SELECT key, value FROM manifest"))
        if not manifest:
            return  # killed while the empty store was being created
        dim, gen = int(manifest["dim"]), int(manifest["generation"])
        per_doc = dict(db.execute("SELECT document_id, COUNT(*) FROM chunks GROUP BY document_id"))
        docs = [r[0] for r in db.execute("SELECT id FROM documents")]
        rows = db.execute("SELECT rowid, vector FROM chunks ORDER BY rowid").fetchall()
    finally:
        db.close()
    want = {}
    for doc_id, *_ in reference[0]:
        want[doc_id] = 0
    for _, doc_id, *_ in reference[1]:
        want[doc_id] += 1
    assert set(per_doc) == set(docs)  # no chunk without its document, no document without chunks
    assert all(per_doc[d] == want[d] for d in docs), "half a document"
    assert all(len(v) == dim * 4 for _, v in rows)
    rowids = np.array([r for r, _ in rows], dtype=np.int64)
    faiss_file = home / f"vectors-{gen}.faiss"
    if faiss_file.exists():  # a file named by the current generation must be exact
        assert np.array_equal(np.sort(load_index(faiss_file).ids()), rowids)
    if (home / f"bm25-{gen}").exists():
        assert np.array_equal(np.sort(Bm25Index.load(home / f"bm25-{gen}").rowids), rowids)


def check_open(home: Path) -> None:
    """The store opens and its in-memory indexes match SQLite (what a reader sees)."""
    kb = KnowledgeBase(home, embedder=make_embedder("hash"))
    try:
        counts = kb.store.counts()
        assert counts["vectors"] == counts["chunks"]
        rowids = np.array([c.rowid for c in kb.store.iter_chunks()], dtype=np.int64)
        assert np.array_equal(np.sort(kb.store.vectors.ids()), rowids)
        assert np.array_equal(np.sort(kb.store.bm25.rowids), rowids)
        if counts["chunks"]:
            assert kb.retrieve("open data privacy", k=3)
    finally:
        kb.close()


def ingest_in_process(home: Path, *paths: Path) -> None:
    kb = KnowledgeBase(home, embedder=make_embedder("hash"))
    try:
        results = kb.ingest(paths)
    finally:
        kb.close()
    assert not [r for r in results if r.status == "failed"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("crash") / "corpus")


def _wait_for_documents(home: Path, n: int, proc: subprocess.Popen) -> int:
    """Poll the store (read-only, as a second process may) until it holds n documents."""
    seen = 0
    while proc.poll() is None and seen < n:
        time.sleep(0.005)
        try:
            db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True, timeout=0.1)
            try:
                seen = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:  # not created yet, or being created
            pass
    return seen


def _env(home: Path) -> dict:
    return dict(os.environ, KB_HOME=str(home), KB_EMBED_MODEL="hash", PYTHONUNBUFFERED="1")


@pytest.mark.integration  # crash trials: ingest processes killed at random moments
def test_killed_ingest_leaves_a_consistent_store_and_resumes_exactly(corpus, tmp_path):
    reference_home = tmp_path / "reference"
    start = time.monotonic()
    done = subprocess.run([KB, "ingest", str(corpus)], env=_env(reference_home), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    full = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    reference = snapshot(reference_home)
    n_files = len(reference[0])
    assert n_files == 21 and len(reference[1]) > 50
    assert check(reference_home).ok

    rng = random.Random(20261128)
    killed = 0
    outcomes = []  # per trial: documents seen, exit code, documents left by the crash
    for trial in range(TRIALS):
        home = tmp_path / f"trial-{trial}"
        # Half of the trials resume a store that already holds part of the corpus.
        if trial % 2:
            ingest_in_process(home, *sorted((corpus / "strategies").iterdir())[: rng.randint(1, 6)])
        proc = subprocess.Popen([KB, "ingest", str(corpus)], env=_env(home), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # A random moment: once the store holds a random number of documents (each is one
        # transaction), plus a random delay; or, for a target of none, a random time from the
        # start. So kills land in start-up, parsing, embedding, between and inside the
        # transactions, and in the FAISS write at the end.
        target = rng.randint(0, n_files)
        if target:
            seen = _wait_for_documents(home, target, proc)
            time.sleep(rng.uniform(0, 0.02))
        else:
            seen = 0
            time.sleep(rng.uniform(0, full))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(30)

        try:
            at_kill = len(snapshot(home)[0])
        except sqlite3.Error:  # no store yet, or its tables not yet created
            at_kill = -1
        outcomes.append((seen, proc.returncode, at_kill))
        check_files(home, reference)
        if (home / "kb.sqlite").exists():
            report = check(home)
            assert not [f for f in report.findings if f.level == PROBLEM], report.findings
            assert all(f.level == FIXABLE for f in report.findings)
        check_open(home)
        ingest_in_process(home, corpus)
        assert snapshot(home) == reference, f"trial {trial}: not the uninterrupted state"
        final = check(home)
        assert final.ok and not final.findings, final.findings
    print("\ncrash trials (documents seen, exit code, documents after the kill):", outcomes)
    assert killed >= 20, f"only {killed} of {TRIALS} runs were killed before they ended"


# ---- kb doctor on its own ----------------------------------------------------------------------
def _doctor(*args):
    return CliRunner().invoke(cli, ["doctor", *args], catch_exceptions=False)


def test_doctor_repairs_what_derives_from_sqlite(kb_home, tmp_path):
    make_pdf(tmp_path / "a.pdf", ["Gemeente Delft investeert in open data. " * 20])
    (tmp_path / "b.md").write_text("# Privacy\n\nDe gemeente beschermt persoonsgegevens. " * 5)
    ingest_in_process(kb_home, tmp_path)
    kb = KnowledgeBase(kb_home, embedder=make_embedder("hash"))
    kb.retrieve("open data", k=2, mode="bm25")  # writes the BM25 folder
    gen = kb.store.generation
    kb.close()
    r = _doctor()
    assert r.exit_code == 0 and r.output.strip().endswith(f"generation {gen}: ok"), r.output

    faiss_file = kb_home / f"vectors-{gen}.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # damaged
    (kb_home / f"vectors-{gen - 1}.faiss").write_bytes(b"old")
    (kb_home / f"vectors-{gen}.faiss.tmp").write_bytes(b"half")
    (kb_home / f"bm25-{gen - 1}").mkdir()
    (kb_home / "files" / "0123456789abcdef-lost.pdf").write_bytes(b"%PDF-")
    r = _doctor()
    assert r.exit_code == 1
    assert f"fixable: FAISS file vectors-{gen}.faiss is unreadable" in r.output
    assert f"stale FAISS file vectors-{gen - 1}.faiss" in r.output
    assert f"stale FAISS file vectors-{gen}.faiss.tmp" in r.output
    assert f"stale BM25 folder bm25-{gen - 1}" in r.output
    assert "orphan file files/0123456789abcdef-lost.pdf" in r.output
    r = _doctor("--repair")
    assert r.exit_code == 0, r.output
    assert r.output.count("repaired: ") == 5 and "fixable: " not in r.output
    assert _doctor().exit_code == 0
    assert sorted(p.name for p in kb_home.iterdir() if "vectors" in p.name or "bm25" in p.name) == [
        f"bm25-{gen}",
        f"vectors-{gen}.faiss",
    ]
    check_open(kb_home)

    db = sqlite3.connect(kb_home / "kb.sqlite")  # SQLite's vector is the truth, FAISS lags
    with db:
        db.execute("UPDATE chunks SET vector = (SELECT vector FROM chunks ORDER BY rowid DESC"
                   " LIMIT 1) WHERE rowid = (SELECT MIN(rowid) FROM chunks)")  # fmt: skip
    db.close()
    r = _doctor("--repair")
    assert f"repaired: FAISS file vectors-{gen}.faiss holds vectors that differ" in r.output
    assert r.exit_code == 0 and _doctor().exit_code == 0


def test_doctor_reports_what_it_cannot_repair(kb_home, tmp_path):
    make_pdf(tmp_path / "a.pdf", ["Gemeente Delft investeert in open data. " * 60] * 2)
    (tmp_path / "b.md").write_text("# Privacy\n\nDe gemeente beschermt persoonsgegevens. " * 5)
    ingest_in_process(kb_home, tmp_path)
    db = sqlite3.connect(kb_home / "kb.sqlite")
    with db:
        first = db.execute("SELECT document_id FROM chunks WHERE position = 1").fetchone()[0]
        db.execute("DELETE FROM chunks WHERE document_id = ? AND position = 0", (first,))
        db.execute("UPDATE chunks SET vector = zeroblob(12) WHERE rowid = "
                   "(SELECT MAX(rowid) FROM chunks)")  # fmt: skip
    db.close()
    stored = next((kb_home / "files").glob("*b.md"))
    stored.unlink()
    r = _doctor("--repair")
    assert r.exit_code == 1
    assert f"problem: document {first[:12]} is incomplete" in r.output
    assert "problem: 1 chunks lack a 256-dimensional vector" in r.output
    assert "problem: FAISS and BM25 cannot be rebuilt (ValueError" in r.output
    assert f"problem: stored copy files/{stored.name} is missing" in r.output
    assert "NOT ok" in r.output
