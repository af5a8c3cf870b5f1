"""Reading while writing: questions asked while another thread ingests, replaces and removes
documents never fail and never see part of a document."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

import pytest

from index.store import Filters

SECTIONS = 5  # chunks per generated document: one per section
DOCS = 14
READERS = 3


def _markdown(marker: str, version: int) -> str:
    sections = []
    for s in range(SECTIONS):
        words = " ".join(f"woord{version}{s}{w}" for w in range(40))
        sections.append(f"## Deel {s}\n\nDeel {s} over {marker} en de wijk. {words}.")
    return f"# Document {marker}\n\n" + "\n\n".join(sections) + "\n"


@pytest.mark.slow
def test_readers_never_fail_nor_see_half_a_document(fake_kb, tmp_path):
    kb = fake_kb
    base = tmp_path / "base.md"
    base.write_text(_markdown("basismarker", 0))
    kb.ingest([base])
    markers = [f"merkteken{i}x" for i in range(DOCS)]
    paths = [tmp_path / f"doc{i}.md" for i in range(DOCS)]

    seen: dict[str, set[int]] = defaultdict(set)  # marker -> chunk counts a reader saw
    errors: list[BaseException] = []
    queries = [0]
    done = threading.Event()

    def count(marker: str) -> int:
        hits = kb.retrieve(marker, k=50, mode="bm25")
        return sum(1 for h in hits if marker in h.chunk.text)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not done.is_set():
                marker = rng.choice(markers + [m + "v2" for m in markers[:4]])
                seen[marker].add(count(marker))
                # Counted in one look at the store: every document whole or absent.
                per_doc = kb.store.chunk_counts()
                assert all(n == SECTIONS for n in per_doc.values()), per_doc
                stats = kb.store.counts()
                assert stats["vectors"] == stats["chunks"], stats
                answer = kb.ask(f"Wat staat er over {marker} en de wijk?", k=3)
                assert answer.answer and all(s.title for s in answer.sources)
                kb.retrieve(marker, k=5, mode="hybrid", filters=Filters(kind="other"))
                kb.stats()
                queries[0] += 1
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(READERS)]
    for t in threads:
        t.start()
    try:
        for i, path in enumerate(paths):
            path.write_text(_markdown(markers[i], 1))
            assert [r.status for r in kb.ingest([path])] == ["added"]
            time.sleep(0.01)
        for i in range(4):  # the same files changed: replaced in one transaction each
            paths[i].write_text(_markdown(markers[i] + "v2", 2))
            assert [r.status for r in kb.ingest([paths[i]])] == ["replaced"]
        for _ in range(20):  # documents come and go under the readers' feet
            for i in range(4, 7):
                doc = kb.store.document_by_key(str(paths[i].resolve()))
                assert kb.remove(doc.id) is not None
            for i in range(4, 7):
                assert [r.status for r in kb.ingest([paths[i]])] == ["added"]
        for i in range(4, 7):
            doc = kb.store.document_by_key(str(paths[i].resolve()))
            assert kb.remove(doc.id) is not None
        time.sleep(0.2)
    finally:
        done.set()
        for t in threads:
            t.join(60)
    if errors:
        import traceback

        raise AssertionError("".join(traceback.format_exception(errors[0])))
    assert queries[0] >= 20, "the readers hardly ran while the writer wrote"

    for marker in markers:
        assert seen[marker] <= {0, SECTIONS}, (marker, seen[marker])
    # What the store holds in the end: replaced documents only in their new version,
    # removed ones gone, the rest whole.
    for i, marker in enumerate(markers):
        assert count(marker) == (SECTIONS if i >= 7 else 0)
    for marker in markers[:4]:
        assert count(marker + "v2") == SECTIONS
    assert sum(len(v) > 1 for v in seen.values()) >= 1, "no reader saw a document arrive"


@pytest.mark.integration  # `kb ingest` in a subprocess
def test_a_reader_sees_what_another_process_wrote(fake_kb, kb_home, tmp_path):
    """`kb serve` keeps the store open while `kb ingest` writes to it from another process:
    its searches see the new state whole (never FAISS of one state and BM25 of another)."""
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    from index.doctor import check
    from index.embedder import HashingEmbedder
    from kb.core import KnowledgeBase

    server = fake_kb
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.md").write_text(_markdown(f"proces{name}marker", 1))
    server.ingest([tmp_path / "a.md"])  # the server has written: its BM25 is rebuilt on use
    kb = str(Path(sys.executable).with_name("kb"))
    done = subprocess.run([kb, "ingest", str(tmp_path / "b.md")], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for mode in ("hybrid", "dense", "bm25"):
        hits = server.retrieve("procesbmarker", k=SECTIONS, mode=mode)
        assert hits, mode
    assert sum("procesbmarker" in h.chunk.text for h in server.retrieve("procesbmarker", k=20,
               mode="bm25")) == SECTIONS  # fmt: skip
    assert server.ask("Wat staat er over procesbmarker?").sources

    # The server writes after the other process did: its own FAISS was one state behind.
    other = KnowledgeBase(kb_home, embedder=HashingEmbedder())
    other.ingest([tmp_path / "c.md"])
    other.close()
    (tmp_path / "d.md").write_text(_markdown("procesdmarker", 1))
    server.ingest([tmp_path / "d.md"])
    rowids = np.array(sorted(c.rowid for c in server.store.iter_chunks()), dtype=np.int64)
    server.retrieve("procescmarker", k=3)
    assert np.array_equal(np.sort(server.store.vectors.ids()), rowids)
    assert np.array_equal(np.sort(server.store.bm25.rowids), rowids)
    for m in ("a", "b", "c", "d"):
        hits = server.retrieve(f"proces{m}marker", k=20, mode="bm25")
        assert sum(f"proces{m}marker" in h.chunk.text for h in hits) == SECTIONS
    report = check(kb_home)  # no cache on disk that claims a state it does not hold
    assert report.ok, report.findings
