"""The KnowledgeBase facade with the fake embedder: ingest, incremental ingest, ask, similar."""

import dataclasses
import shutil

import numpy as np
import pytest

from tests.conftest import make_pdf

GUIDE = """# 5. Foundations

## Data management {#data-management}

Stage: foundations

### Action perspectives
Appoint an owner for every key register and publish a data catalogue for the organisation.

## Sensors and IoT {#sensors-iot}

Stage: foundations

### Purpose
Sensors in public space measure parking occupancy, water levels and crowding.
"""

PROJECT = """id: {id}
title: {title}
municipality: {municipality}
partners: []
themes: [parking, sensors]
building_blocks: [sensors-iot, smart-mobility]
stage: applications
status: pilot
start_year: 2023
contact: Programme manager mobility
language: en
summary: Sensors in parking bays show free places to drivers.
description: >-
  {title}. In-ground parking sensors on loading bays report occupancy in real time to a
  guidance system and to enforcement officers, and the data feeds parking policy.
"""


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "guide").mkdir(parents=True)
    (root / "projects").mkdir()
    (root / "strategies").mkdir()
    (root / "guide" / "05-foundations.md").write_text(GUIDE)
    for pid, title, mun in [
        ("delft-parking", "Smart parking sensors in the centre", "delft"),
        ("rotterdam-parking", "Parking sensors and guidance", "rotterdam"),
        ("schiedam-parking", "Parking sensor pilot", "schiedam"),
    ]:
        (root / "projects" / f"{pid}.yaml").write_text(
            PROJECT.format(id=pid, title=title, municipality=mun)
        )
    make_pdf(root / "strategies" / "delft.pdf", [
        "Digitale strategie Delft. Wij bouwen een digitale tweeling van de binnenstad.",
        "Privacy en ethiek: de gemeente publiceert een algoritmeregister voor inwoners.",
    ])  # fmt: skip
    (root / ".kbignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "skip.md").write_text("# Skip\n\nnot for the index")
    return root


class CountingEmbedder:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint
        self.max_tokens = inner.max_tokens

    def count_tokens(self, t):
        return self.inner.count_tokens(t)

    def embed_documents(self, texts):
        self.calls += len(texts)
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def test_folder_ingest_takes_kind_from_subfolder_and_skips_ignored(fake_kb, corpus):
    results = fake_kb.ingest([corpus], municipality=None)
    assert {r.status for r in results} == {"added"}
    kinds = {d.source: d.kind for d in fake_kb.store.documents()}
    assert kinds["05-foundations.md"] == "guide"
    assert kinds["delft.pdf"] == "strategy"
    assert kinds["delft-parking.yaml"] == "project"
    assert "skip.md" not in kinds
    assert fake_kb.stats()["projects"] == 3
    assert set(fake_kb.building_blocks()) == {"data-management", "sensors-iot"}


def test_ingesting_a_kind_folder_itself_takes_its_kind(fake_kb, corpus):
    fake_kb.ingest([corpus / "guide", corpus / "strategies"])
    assert {d.source: d.kind for d in fake_kb.store.documents()} == {
        "05-foundations.md": "guide", "delft.pdf": "strategy"}  # fmt: skip
    assert set(fake_kb.building_blocks()) == {"data-management", "sensors-iot"}


def test_same_bytes_again_are_unchanged_and_embed_nothing(kb_home, corpus):
    from index.embedder import HashingEmbedder
    from kb.core import KnowledgeBase

    emb = CountingEmbedder(HashingEmbedder())
    kb = KnowledgeBase(kb_home, embedder=emb)
    kb.ingest([corpus])
    first = emb.calls
    assert first > 0
    again = kb.ingest([corpus])
    assert {r.status for r in again} == {"unchanged"}
    assert emb.calls == first


def test_changed_file_at_same_path_replaces_its_chunks(fake_kb, corpus):
    fake_kb.ingest([corpus])
    before = fake_kb.stats()
    path = corpus / "guide" / "05-foundations.md"
    path.write_text(GUIDE.replace("water levels", "water levels and heat stress"))
    [r] = [r for r in fake_kb.ingest([path]) if r.status != "unchanged"]
    assert r.status == "replaced"
    after = fake_kb.stats()
    assert after["documents"] == before["documents"]
    assert after["chunks"] == before["chunks"]
    texts = " ".join(c.text for c in fake_kb.store.iter_chunks())
    assert "heat stress" in texts


def test_ask_cites_document_and_page_or_section(fake_kb, corpus):
    fake_kb.ingest([corpus])
    a = fake_kb.ask("Wie publiceert een algoritmeregister voor inwoners?")
    assert a.answered
    assert "[1]" in a.answer
    top = a.sources[0]
    assert top.source == "delft.pdf" and top.page == 2
    b = fake_kb.ask("What should we do for data management and the data catalogue?", kind="guide")
    assert b.sources[0].section.endswith("Data management > Action perspectives")
    assert b.building_blocks[0].id == "data-management"
    assert b.building_blocks[0].name == "Data management"


def test_filters_restrict_sources(fake_kb, corpus):
    fake_kb.ingest([corpus])
    a = fake_kb.ask("parking sensors", municipality="Rotterdam")
    assert a.sources and {s.municipality for s in a.sources} == {"rotterdam"}
    b = fake_kb.ask("parking sensors", kind="guide")
    assert {s.kind for s in b.sources} == {"guide"}


def test_unrelated_question_gets_no_answer_and_nearest_topics(fake_kb, corpus):
    fake_kb.ingest([corpus])
    a = fake_kb.ask("zzqx flibbertigibbet")
    assert not a.answered
    assert "no confident answer" in a.answer
    assert "[1]" not in a.answer


def test_similar_by_project_excludes_own_municipality(fake_kb, corpus):
    fake_kb.ingest([corpus])
    res = fake_kb.similar(project_id="delft-parking")
    ids = [r.id for r in res]
    assert "delft-parking" not in ids
    assert set(ids) == {"rotterdam-parking", "schiedam-parking"}
    assert "Sensors and IoT" in res[0].why and "parking" in res[0].shared_themes
    res2 = fake_kb.similar(text="parking sensors", exclude_municipality="Schiedam")
    assert "schiedam-parking" not in [r.id for r in res2] and res2


def test_similar_filters_by_theme_stage_and_status(fake_kb, corpus):
    idea = (PROJECT.format(id="vlaardingen-data", title="Data catalogue for parking",
                           municipality="vlaardingen")
            .replace("themes: [parking, sensors]", "themes: [data]")
            .replace("stage: applications", "stage: foundations")
            .replace("status: pilot", "status: idea"))  # fmt: skip
    (corpus / "projects" / "vlaardingen-data.yaml").write_text(idea)
    fake_kb.ingest([corpus])
    everything = {r.id for r in fake_kb.similar(text="parking sensors", k=10)}
    assert "vlaardingen-data" in everything and len(everything) == 4
    ideas = fake_kb.similar(text="parking sensors", status="idea")
    assert [r.id for r in ideas] == ["vlaardingen-data"]
    themed = fake_kb.similar(text="parking sensors", themes=["data", "nope"])
    assert [r.id for r in themed] == ["vlaardingen-data"]
    staged = {r.id for r in fake_kb.similar(text="parking sensors", stage="applications", k=10)}
    assert staged == everything - {"vlaardingen-data"}
    assert fake_kb.similar(text="parking sensors", stage="ambition") == []


def test_similar_by_text_explains_with_the_words_it_shares(fake_kb, corpus):
    fake_kb.ingest([corpus])
    res = {r.id: r for r in fake_kb.similar(text="sensoren voor parking in the centre", k=10)}
    why = res["delft-parking"].why
    assert "matching words: centre, parking" in why  # 'centre' is only in Delft's title
    assert "centre" not in res["rotterdam-parking"].why


def test_remove_and_reindex(fake_kb, corpus):
    fake_kb.ingest([corpus])
    doc = next(d for d in fake_kb.store.documents() if d.source == "delft.pdf")
    assert fake_kb.remove(doc.id[:10]).id == doc.id
    assert all(h.chunk.document_id != doc.id for h in fake_kb.retrieve("algoritmeregister"))
    n_docs, n_chunks = fake_kb.stats()["documents"], fake_kb.stats()["chunks"]
    assert fake_kb.reindex() == n_docs == 4  # five ingested, one removed
    assert fake_kb.stats()["chunks"] == n_chunks
    assert fake_kb.ask("parking sensors").sources


def test_failures_are_reported_and_the_batch_goes_on(fake_kb, corpus, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_text("not a pdf")
    results = fake_kb.ingest([bad, tmp_path / "missing.pdf", corpus / "strategies"])
    by_status = {r.status for r in results}
    assert by_status == {"failed", "added"}
    lines = [r.line() for r in results if r.status == "failed"]
    assert any("broken.pdf: not a PDF" in ln for ln in lines)
    assert any("missing.pdf: no such file" in ln for ln in lines)


def test_store_copy_allows_reindex_after_source_is_gone(fake_kb, corpus):
    from index.embedder import HashingEmbedder
    from kb.core import KnowledgeBase

    class ShortEmbedder(HashingEmbedder):
        max_tokens = 60  # a chunk budget of 10 words: re-read documents are chunked anew

    added = [r for r in fake_kb.ingest([corpus]) if r.status == "added"]
    guide = next(d for d in fake_kb.store.documents() if d.source.endswith("05-foundations.md"))
    n_before = len(fake_kb.store.chunks_of(guide.id))
    fake_kb.close()
    shutil.rmtree(corpus)
    kb = KnowledgeBase(fake_kb.home, embedder=ShortEmbedder(64), check_model=False)
    try:
        assert kb.reindex() == len(added) == 5
        assert kb.store.manifest()["model"] == "hash-64"
        # more, smaller chunks: the guide was read again from the store's copy (its source is
        # gone), not just re-embedded as it was
        chunks = kb.store.chunks_of(guide.id)
        assert len(chunks) > n_before
        # and every vector is the new model's
        held = kb.store.vectors_of([c.rowid for c in chunks])
        assert np.allclose(held, kb.embedder.embed_documents([c.embed_text for c in chunks]))
        assert kb.retrieve("algoritmeregister inwoners")[0].chunk.document_id == next(
            d.id for d in kb.store.documents() if d.source == "delft.pdf"
        )
    finally:
        kb.close()


def test_reindex_keeps_a_document_whose_stored_copy_is_gone(fake_kb, corpus):
    fake_kb.ingest([corpus])
    doc = next(d for d in fake_kb.store.documents() if d.source == "delft.pdf")
    (fake_kb.home / doc.stored_path).unlink()
    before = [c.text for c in fake_kb.store.chunks_of(doc.id)]
    fake_kb.reindex()
    assert [c.text for c in fake_kb.store.chunks_of(doc.id)] == before
    assert fake_kb.ask("algoritmeregister inwoners").sources[0].source == "delft.pdf"


def test_building_block_filter_in_ask(fake_kb, corpus):
    fake_kb.ingest([corpus])
    a = fake_kb.ask("sensors and data", building_block="data-management")
    assert a.sources and all("Data management" in s.section for s in a.sources)


def test_question_is_embedded_once_per_ask(kb_home, corpus):
    from index.embedder import HashingEmbedder
    from kb.core import KnowledgeBase

    class Counting(HashingEmbedder):
        queries = 0

        def embed_queries(self, texts):
            Counting.queries += len(texts)
            return super().embed_queries(texts)

    kb = KnowledgeBase(kb_home, embedder=Counting())
    kb.ingest([corpus])
    kb.ask("open data and data catalogue", kind="guide")  # few project hits: second search
    assert Counting.queries == 1


def test_a_title_can_be_changed_and_since_keeps_dated_documents_only(fake_kb, tmp_path):
    from index.store import Filters

    old = tmp_path / "old.md"
    old.write_text("# Oud\n\nGlasvezel in de polder, plan uit 2019.\n")
    new = tmp_path / "new.md"
    new.write_text("# Nieuw\n\nGlasvezel in de polder, plan voor 2025 tot 2028.\n")
    fake_kb.ingest([old, new])
    docs = {d.source: d for d in fake_kb.documents()}
    # dates as ingest records them (meta["date"]); set here as a document's row carries it
    for source, date in (("old.md", "2019"), ("new.md", "2025-03-12")):
        d = docs[source]
        chunks = fake_kb.store.chunks_of(d.id)
        vectors = fake_kb.store.vectors_of([c.rowid for c in chunks])
        fake_kb.store.put(dataclasses.replace(d, meta={**d.meta, "date": date}),
                          [dataclasses.replace(c, rowid=None) for c in chunks], vectors)
    hits = fake_kb.retrieve("glasvezel polder", k=5, filters=Filters(since=2024))
    assert {h.chunk.document_id for h in hits} == {docs["new.md"].id}
    assert len({h.chunk.document_id for h in fake_kb.retrieve("glasvezel polder", k=5)}) == 2
    answer = fake_kb.ask("glasvezel in de polder", since=2024)
    assert [s.date for s in answer.sources] == ["2025-03-12"]

    doc = fake_kb.set_title(docs["old.md"].id[:10], "  Glasvezelplan   2019 ")
    assert doc is not None and doc.title == "Glasvezelplan 2019"
    assert fake_kb.document(docs["old.md"].id).title == "Glasvezelplan 2019"
    assert fake_kb.set_title("nonexistent-id", "x") is None
    assert fake_kb.set_title(docs["old.md"].id, "   ") is None
