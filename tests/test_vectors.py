"""The vector index picks its type by size, and filtered search keeps to the allowed ids."""

from __future__ import annotations

import numpy as np
import pytest

from index.embedder import HashingEmbedder
from index.store import ChunkRow, DocumentRow, Filters, Store
from index.vectors import (
    BACKENDS,
    FLAT_MAX,
    FaissIndex,
    VectorIndex,
    choose_kind,
    load_index,
    make_index,
)

DIM = 16
LIMIT = 200  # a small flat/IVF threshold, so the switch happens on a few hundred vectors


def _unit(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_choice_switches_at_the_threshold():
    assert choose_kind(LIMIT - 1, LIMIT) == "flat"
    assert choose_kind(LIMIT, LIMIT) == "ivf"
    small = FaissIndex.build(DIM, np.arange(LIMIT - 1), _unit(LIMIT - 1), limit=LIMIT)
    assert small.kind == "flat"
    assert FaissIndex.build(DIM, np.arange(LIMIT), _unit(LIMIT), limit=LIMIT).kind == "ivf"


def test_growing_and_shrinking_change_the_type_and_keep_every_vector():
    x, ids = _unit(600), np.arange(1000, 1600)
    index = FaissIndex(DIM, limit=LIMIT)
    index.add(ids[:100], x[:100])
    assert index.kind == "flat"
    index.add(ids[100:], x[100:])
    assert index.kind == "ivf"
    got_ids, got = index.all()
    order = np.argsort(got_ids)
    assert got_ids[order].tolist() == ids.tolist()
    assert np.allclose(got[order], x)
    assert np.allclose(index.reconstruct(ids[[5, 500]]), x[[5, 500]])
    index.remove(ids[:550])
    assert index.kind == "flat" and sorted(index.ids().tolist()) == ids[550:].tolist()


@pytest.mark.parametrize("n", [LIMIT // 2, LIMIT * 3])
def test_filtered_search_returns_only_allowed_ids(n):
    x, ids = _unit(n, seed=n), np.arange(n, dtype=np.int64) * 7 + 3
    index = FaissIndex.build(DIM, ids, x, limit=LIMIT)
    assert index.kind == ("flat" if n < LIMIT else "ivf")
    rng = np.random.default_rng(1)
    for size in (3, n // 3):  # a selective filter (exact subset) and a broad one (selector)
        allowed = rng.choice(ids, size=size, replace=False)
        for q in x[:5]:
            got, scores = index.search(q, 10, allowed)
            assert got and set(got) <= set(allowed.tolist())
            assert scores == sorted(scores, reverse=True)
        # the best allowed vector is found: the query is that vector itself
        target = int(np.flatnonzero(ids == allowed[0])[0])
        assert index.search(x[target], 1, allowed)[0] == [int(allowed[0])]


def test_unfiltered_ivf_finds_the_query_vector_itself():
    x, ids = _unit(LIMIT * 3, seed=2), np.arange(LIMIT * 3)
    index = FaissIndex.build(DIM, ids, x, limit=LIMIT)
    found = sum(index.search(x[i], 1)[0] == [i] for i in range(0, len(x), 10))
    assert found >= 0.9 * len(range(0, len(x), 10))


def test_store_records_the_chosen_type_and_reopens_it(tmp_path):
    emb = HashingEmbedder(32)
    model = (emb.name, emb.dim, emb.fingerprint)
    store = Store(tmp_path, model, flat_max=30)

    def put(doc_id: str, municipality: str, n: int) -> None:
        doc = DocumentRow(id=doc_id, key=doc_id, source=doc_id, title=doc_id, kind="strategy",
                          municipality=municipality)  # fmt: skip
        texts = [f"{municipality} project {doc_id} number {i} sensors data" for i in range(n)]
        chunks = [ChunkRow(id=f"{doc_id}-{i}", document_id=doc_id, position=i, text=t,
                           embed_text=t, kind="strategy", municipality=municipality)
                  for i, t in enumerate(texts)]  # fmt: skip
        store.put(doc, chunks, emb.embed_documents(texts))

    put("a", "delft", 10)
    assert store.vectors.kind == "flat" and store.manifest()["index"] == "flat"
    put("b", "gouda", 40)
    assert store.vectors.kind == "ivf" and store.manifest()["index"].startswith("ivf(")
    q = emb.embed_queries(["delft project sensors"])[0]
    hits = store.search(q, 5, Filters(municipality="delft"), mode="dense")
    assert hits and {h.chunk.municipality for h in hits} == {"delft"}
    store.close()

    again = Store(tmp_path, model, flat_max=30)
    assert again.vectors.kind == "ivf" and again.vectors.ntotal == 50
    again.close()
    for f in (tmp_path).glob("vectors-*.faiss"):
        f.unlink()  # rebuilt from SQLite: the same type for the same size
    assert Store(tmp_path, model, flat_max=30).vectors.kind == "ivf"


# ---- the factory -----------------------------------------------------------------------
def test_factory_chooses_the_type_by_size_and_keeps_the_threshold(tmp_path):
    x = _unit(LIMIT)
    small = make_index(DIM, np.arange(LIMIT - 1), x[: LIMIT - 1], flat_max=LIMIT)
    large = make_index(DIM, np.arange(LIMIT), x, flat_max=LIMIT)
    assert isinstance(small, VectorIndex) and isinstance(large, VectorIndex)
    assert (small.kind, large.kind) == ("flat", "ivf")
    assert large.describe().startswith("ivf(nlist=")
    # the default threshold is FLAT_MAX: the same 200 vectors stay exact
    assert make_index(DIM, np.arange(LIMIT), x).kind == choose_kind(LIMIT, FLAT_MAX) == "flat"
    empty = make_index(DIM, flat_max=LIMIT)
    assert (empty.kind, empty.ntotal, empty.dim) == ("flat", 0, DIM)
    empty.add(np.arange(LIMIT), x)  # grows past the threshold it was made with
    assert empty.kind == "ivf"

    large.write(tmp_path / "v.faiss")
    back = load_index(tmp_path / "v.faiss", flat_max=LIMIT)
    assert back.kind == "ivf" and back.ntotal == LIMIT
    assert sorted(back.ids().tolist()) == list(range(LIMIT))
    back.remove(np.arange(LIMIT // 2 + 1))  # below half the threshold it was loaded with
    assert back.kind == "flat"


def test_factory_refuses_unknown_backends_and_files(tmp_path):
    assert set(BACKENDS) == {"faiss"}
    with pytest.raises(ValueError, match="unknown vector index backend 'nope'"):
        make_index(DIM, backend="nope")
    (tmp_path / "v.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="not a vector index file"):
        load_index(tmp_path / "v.bin")


# ---- ingest embeds many documents per call (kb.core._EmbedBatches) --------------------------
class CountingEmbedder(HashingEmbedder):
    def __init__(self):
        super().__init__(64)
        self.calls: list[int] = []

    def embed_documents(self, texts):
        self.calls.append(len(texts))
        return super().embed_documents(texts)


def test_ingest_embeds_across_documents_and_keeps_result_order(tmp_path):
    from kb.core import KnowledgeBase

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        (folder / f"n{i:02d}.md").write_text(f"# Note {i}\n\nSensors and open data, note {i}.\n")
    (folder / "n20b.md").write_text("")  # nothing to index: fails in its place
    emb = CountingEmbedder()
    kb = KnowledgeBase(tmp_path / "home", embedder=emb)
    seen: list[str] = []
    results = kb.ingest([folder, folder / "n05.md"], on_result=lambda r: seen.append(r.name))
    names = [r.name for r in results]
    assert seen == names
    assert names[:41] == sorted(names[:41])  # file order, the empty file among them
    statuses = {r.name.rsplit("/", 1)[-1]: r.status for r in results}
    assert statuses["n20b.md"] == "failed" and results[-1].status == "unchanged"
    assert [r.status for r in results[:41]].count("added") == 40
    assert len(emb.calls) == 1 and sum(emb.calls) == kb.store.counts()["chunks"] == 40
    hits = kb.retrieve("note 7 sensors", k=3)
    assert hits and all(h.chunk.rowid for h in hits)
    again = kb.ingest([folder])
    assert {r.status for r in again} == {"unchanged", "failed"} and len(emb.calls) == 1
    kb.close()
