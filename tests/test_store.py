import numpy as np
import pytest

from index.embedder import HashingEmbedder
from index.store import ChunkRow, DocumentRow, Filters, Store, StoreError

EMB = HashingEmbedder(64)
MODEL = (EMB.name, EMB.dim, EMB.fingerprint)


def _put(store, doc_id, key, texts, municipality="delft", kind="strategy"):
    doc = DocumentRow(id=doc_id, key=key, source=f"{key}.pdf", title=key, kind=kind,
                      municipality=municipality)  # fmt: skip
    chunks = [
        ChunkRow(id=f"{doc_id}-{i}", document_id=doc_id, position=i, text=t, embed_text=t,
                 kind=kind, page=i + 1, municipality=municipality)  # fmt: skip
        for i, t in enumerate(texts)
    ]
    return store.put(doc, chunks, EMB.embed_documents(texts))


def _core(store):
    c = store.counts()
    return c["documents"], c["chunks"], c["vectors"]


def _query(store, text, **kw):
    return store.search(EMB.embed_queries([text])[0], 5, text=text, **kw)


def test_add_search_replace_remove_and_reopen(tmp_path):
    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["smart parking sensors in Delft", "open data portal"])
    _put(store, "b1", "b", ["digital inclusion for older residents"], municipality="rotterdam")
    assert _core(store) == (2, 3, 3)
    assert _query(store, "parking sensors")[0].chunk.document_id == "a1"

    replaced = _put(store, "a2", "a", ["flood sensors along the dikes"])
    assert replaced == ["a1"]
    assert store.counts()["chunks"] == 2
    assert all(h.chunk.document_id != "a1" for h in _query(store, "parking sensors", mode="hybrid"))

    assert store.remove("b1")
    store.close()
    again = Store(tmp_path, MODEL)
    assert _core(again) == (1, 1, 1)
    assert _query(again, "flood dikes", mode="bm25")[0].chunk.document_id == "a2"


def test_filters_limit_dense_and_lexical_results(tmp_path):
    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["parking sensors"], municipality="delft")
    _put(store, "b1", "b", ["parking sensors"], municipality="rotterdam")
    for mode in ("dense", "bm25", "hybrid"):
        hits = _query(store, "parking", filters=Filters(municipality="rotterdam"), mode=mode)
        assert [h.chunk.document_id for h in hits] == ["b1"], mode
        hits = _query(
            store, "parking", filters=Filters(exclude_municipality="rotterdam"), mode=mode
        )
        assert [h.chunk.document_id for h in hits] == ["a1"], mode
    assert _query(store, "parking", filters=Filters(municipality="westland")) == []


def test_store_built_with_another_model_is_a_clear_error(tmp_path):
    Store(tmp_path, MODEL).close()
    other = HashingEmbedder(32)
    with pytest.raises(StoreError, match="kb reindex"):
        Store(tmp_path, (other.name, other.dim, other.fingerprint))
    # inspection still works
    readonly = Store(tmp_path, (other.name, other.dim, other.fingerprint), check_model=False)
    assert readonly.counts()["documents"] == 0


def test_stale_vector_file_after_a_crash_is_rebuilt_from_sqlite(tmp_path):
    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["parking sensors"])
    before = sorted(p.name for p in tmp_path.glob("vectors-*.faiss"))
    # Simulate a crash after the SQLite commit but before the FAISS file was renamed:
    # commit a second document, then put the old FAISS file back in place.
    old_bytes = (tmp_path / before[0]).read_bytes()
    _put(store, "b1", "b", ["flood sensors"])
    store.close()
    for p in tmp_path.glob("vectors-*.faiss"):
        p.unlink()
    (tmp_path / before[0]).write_bytes(old_bytes)
    again = Store(tmp_path, MODEL)
    assert again.counts()["vectors"] == 2
    assert sorted(again.vectors.ids().tolist()) == sorted(c.rowid for c in again.iter_chunks())
    assert _query(again, "flood")[0].chunk.document_id == "b1"


def test_a_failed_write_leaves_the_previous_state(tmp_path):
    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["parking sensors"])
    doc = DocumentRow(id="b1", key="b", source="b", title="b", kind="other")
    bad = [ChunkRow(id="x", document_id="b1", position=0, text="t", embed_text="t", kind="other")]
    with pytest.raises(ValueError):
        store.put(doc, bad, np.zeros((2, 64), dtype=np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        store.put(doc, bad * 2, np.full((2, 64), 1.0, dtype=np.float32)[:, :10])
    # passes every check, then fails inside the transaction, after the document row and the
    # first chunk were written (the second chunk's tags cannot be serialised)
    broken = bad + [ChunkRow(id="y", document_id="b1", position=1, text="t", embed_text="t",
                             kind="other", building_blocks=(object(),))]  # fmt: skip
    with pytest.raises(TypeError):
        store.put(doc, broken, np.full((2, 64), 1.0, dtype=np.float32))
    assert _core(store) == (1, 1, 1) and not store.has_document("b1")


def test_a_batch_without_writes_leaves_the_vector_file_alone(tmp_path):
    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["parking sensors"])
    [path] = tmp_path.glob("vectors-*.faiss")
    before = path.stat().st_mtime_ns
    with store.batch():
        assert store.has_document("a1")
    assert path.exists() and path.stat().st_mtime_ns == before
    with store.batch():
        _put(store, "b1", "b", ["flood sensors"])
    [after] = tmp_path.glob("vectors-*.faiss")
    assert after != path and not path.exists()


def test_building_block_filter(tmp_path):
    store = Store(tmp_path, MODEL)
    doc = DocumentRow(id="g", key="g", source="g.md", title="Guide", kind="guide")
    pairs = [("open data portal", "open-data"), ("open data sharing rules", "data-management")]
    rows = [ChunkRow(id=f"g{i}", document_id="g", position=i, text=t, embed_text=t, kind="guide",
                     building_blocks=(b,)) for i, (t, b) in enumerate(pairs)]  # fmt: skip
    store.put(doc, rows, EMB.embed_documents([r.text for r in rows]))
    hits = _query(
        store, "open data", filters=Filters(building_block="data-management"), mode="hybrid"
    )
    assert [h.chunk.id for h in hits] == ["g1"]


def test_opening_drops_caches_left_by_a_kill_between_write_and_cleanup(tmp_path):
    import shutil

    store = Store(tmp_path, MODEL)
    _put(store, "a1", "a", ["parking sensors"])
    _put(store, "b1", "b", ["flood sensors"])
    gen = store.generation
    store.close()
    shutil.copy(tmp_path / f"vectors-{gen}.faiss", tmp_path / f"vectors-{gen - 1}.faiss")
    (tmp_path / f"bm25-{gen - 1}").mkdir()
    (tmp_path / f"bm25-{gen - 1}" / "params.index.json").write_text("{}")
    (tmp_path / f"vectors-{gen - 1}.faiss.tmp").write_bytes(b"half")  # someone else's write
    store = Store(tmp_path, MODEL)
    assert sorted(p.name for p in tmp_path.glob("vectors-*")) == [
        f"vectors-{gen - 1}.faiss.tmp", f"vectors-{gen}.faiss"]  # fmt: skip
    assert not (tmp_path / f"bm25-{gen - 1}").exists()
    assert _core(store) == (2, 2, 2)
