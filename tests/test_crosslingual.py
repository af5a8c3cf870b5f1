"""Cross-lingual retrieval (the Dutch-English glossary) and the absent-words "no answer" signal."""

from __future__ import annotations

import numpy as np
import pytest

from index.bm25 import Bm25Index
from index.glossary import GLOSSARY_FILE, Glossary, glossary
from index.lexical import tokens
from kb import novelty

SMALL = """# a comment line
parkeren\tparking
ouderen\telderly
ouderen\tolder people
laadpalen\tcharging points
openbare ruimte\tpublic space
gegevens\tdata
"""

ENGLISH = {
    "parking": "Parking sensors in the historic centre show drivers where a free parking space is.",
    "elderly": "Digital buddies help elderly residents with online forms and video calls at home.",
    "charging": "The municipality placed charging points for electric cars in every neighbourhood.",
}


@pytest.fixture
def small() -> Glossary:
    return Glossary.parse(SMALL)


def test_parse_maps_both_ways_and_skips_comments(small):
    assert small.nl_en[tokens_key("ouderen", "nl")] == ("elderly", "older people")
    assert small.en_nl[tokens_key("charging points", "en")] == ("laadpalen",)
    assert not any("comment" in " ".join(k) for k in small.nl_en)


def tokens_key(phrase: str, lang: str) -> tuple[str, ...]:
    from index.glossary import phrase_key

    return phrase_key(phrase, lang)


def test_segments_prefer_the_longest_phrase(small):
    segs = small.segments("Sensoren in de openbare ruimte voor ouderen", "nl")
    assert ("openbare ruimte", ("public space",)) in segs
    assert ("ouderen", ("elderly", "older people")) in segs
    assert ("Sensoren", ()) in segs  # not in this glossary: kept, untranslated


def test_expansion_adds_translations_in_the_other_language_only(small):
    extra = small.expansion("Waar kunnen ouderen parkeren?", "nl")
    assert set(tokens("elderly parking")) <= set(extra)
    assert not set(tokens("ouderen parkeren")) & set(extra)  # the query's own terms
    back = small.expansion("Where can elderly people find parking?", "en")
    assert set(tokens("ouderen parkeren")) <= set(back)
    assert small.expansion("Waar kunnen ouderen parkeren?", "en") == []  # English words only


def test_english_rendering_word_for_word(small):
    assert small.to_english("Laadpalen voor ouderen?") == "charging points elderly?"
    assert small.to_english("Niets bekends hier") is None  # nothing known: no rendering


def test_dutch_compound_of_two_glossary_words(small):
    assert small.segments("parkeergegevens", "nl") == [("parkeergegevens", ("parking data",))]


def test_dutch_compound_of_which_only_the_head_is_known(small):
    """'laadpalenbeleid': the head names the topic; a word with no known head stays as it is."""
    assert small.segments("laadpalenbeleid", "nl") == [("laadpalenbeleid", ("charging points",))]
    assert small.segments("parkeerbeleid", "nl") == [("parkeerbeleid", ("parking",))]
    assert small.segments("beleidsnotitie", "nl") == [("beleidsnotitie", ())]


def test_shipped_glossary_is_well_formed_and_large():
    lines = [ln for ln in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]  # fmt: skip
    assert all(ln.count("\t") == 1 and all(p.strip() for p in ln.split("\t")) for ln in lines)
    g = glossary()
    assert len(lines) >= 300 and len(g.nl_en) >= 300
    assert g.to_english("inwoners") == "residents"


def test_bm25_expansion_finds_an_english_passage_for_a_dutch_query(small):
    ids = list(range(1, len(ENGLISH) + 1))
    index = Bm25Index.build(ids, list(ENGLISH.values()))
    query = "Wat doen gemeenten voor ouderen?"
    assert index.search(query, 3)[0] == []  # no shared word: plain BM25 finds nothing
    found, scores = index.search(query, 3, extra=small.expansion(query, "nl"))
    assert found[0] == 2 and scores[0] > 0  # the passage about elderly residents


def test_expansion_weight_scales_only_the_translated_terms(small):
    index = Bm25Index.build([1, 2], [ENGLISH["parking"], "Parkeren in de binnenstad kost geld."])
    query = "parkeren binnenstad"
    extra = small.expansion(query, "nl")
    low = dict(zip(*index.search(query, 2, extra=extra, extra_weight=0.1), strict=True))
    high = dict(zip(*index.search(query, 2, extra=extra, extra_weight=3.0), strict=True))
    assert high[1] > low[1]  # the English passage gains with the translations' weight
    assert high[2] == pytest.approx(low[2])  # the Dutch one matches the query's own words


def _write(root, name: str, title: str, text: str) -> None:
    (root / name).write_text(f"---\ntitle: {title}\nlanguage: en\n---\n# {title}\n\n{text}\n")


@pytest.fixture
def english_kb(fake_kb, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ENGLISH.items():
        _write(docs, f"{name}.md", name.title(), text)
    fake_kb.ingest([docs])
    return fake_kb


def test_dutch_question_reaches_english_passage_through_the_glossary(english_kb):
    q = "Welke gemeenten plaatsen laadpalen in de wijk?"
    hits = english_kb.retrieve(q, k=3, mode="bm25")
    assert hits and "charging points" in hits[0].chunk.text
    plain = english_kb.retriever.configured(expand=False)
    hits = plain.retrieve(q, k=3, mode="bm25")
    assert not any("charging points" in h.chunk.text for h in hits)


def test_dutch_query_vector_leans_towards_its_english_rendering(english_kb):
    q = "Hoe helpen vrijwilligers ouderen en inwoners thuis?"
    plain = english_kb.embedder.embed_queries([q])[0]
    retriever = english_kb.retriever
    both = retriever.with_english(retriever.analyse(q), plain)
    passage = english_kb.embedder.embed_documents([ENGLISH["elderly"]])[0]
    assert np.linalg.norm(both) == pytest.approx(1.0, abs=1e-5)
    assert float(both @ passage) > float(plain @ passage)


def test_unmatched_words_ignore_function_words_names_and_translated_matches():
    passages = [ENGLISH["parking"], ENGLISH["elderly"]]
    df = {t: 1 for p in passages for t in tokens(p)}
    missing = novelty.unmatched_words(
        "Hoeveel kost parkeren voor ouderen in Delft met een drone?", passages,
        lambda t: df.get(t, 0), max_df=1, names={"delft"},
    )  # fmt: skip
    assert missing == ["kost", "drone"]  # parkeren and ouderen match through the glossary
    frequent = novelty.unmatched_words("drone parking", passages, lambda t: 5, max_df=1)
    assert frequent == []  # a word many chunks hold is not a sign of a missing subject


def test_question_about_an_absent_subject_is_refused_a_present_one_answered(english_kb):
    absent = "Which municipality uses quantum computers for blockchain permits?"
    present = "Which municipality placed charging points for electric cars?"
    share = english_kb.retriever.absent_share
    assert (share(absent, english_kb.retrieve(absent, k=3))
            >= english_kb.retriever.config.max_absent)  # fmt: skip
    assert share(present, english_kb.retrieve(present, k=3)) == 0.0
    assert not english_kb.ask(absent).answered
    assert english_kb.ask(present).answered


def test_absent_words_check_can_be_switched_off(english_kb):
    q = "Which municipality placed charging points for quantum computers and blockchain?"
    # any hit is close enough without the absent-words check
    english_kb.retriever = english_kb.retriever.configured(min_score=0.0)
    assert not english_kb.ask(q).answered
    english_kb.retriever = english_kb.retriever.configured(max_absent=None)
    assert english_kb.ask(q).answered


DUTCH_CHUNK = "De gemeenten meten met sensoren het waterpeil in de polders."


def _hit(rowid: int, language: str, text: str = "x") -> object:
    from index.store import ChunkRow, Hit

    chunk = ChunkRow(id=f"c{rowid}", document_id=f"d{rowid}", position=0, text=text,
                     embed_text=text, kind="other", language=language, rowid=rowid)  # fmt: skip
    return Hit(chunk, 0.0, 0.5, 1.0)


@pytest.mark.parametrize(("language", "text", "order"), [
    ("nl", DUTCH_CHUNK, [1, 3, 2]),  # Dutch, found through the glossary: BM25 leads
    ("en", DUTCH_CHUNK, [1, 2, 3]),  # English: the usual English weights
    ("nl", "Die Gemeinde misst Pegel.", [1, 2, 3]),  # no glossary word: the usual weights
])  # fmt: skip
def test_english_query_lets_bm25_lead_on_dutch_chunks(fake_kb, monkeypatch, language, text, order):
    """Dense ranks 1, 2, 3; BM25 (with Dutch translations) 3, 1, 2. Where chunk 3 is Dutch and
    holds the query's Dutch translations, the English-only model's low rank for it counts
    little and BM25's first rank most."""
    lists = {"dense": [_hit(1, "en"), _hit(2, "en"), _hit(3, language, text)],
             "bm25": [_hit(3, language, text), _hit(1, "en"), _hit(2, "en")]}  # fmt: skip
    monkeypatch.setattr(fake_kb.store, "search", lambda *a, mode, **kw: lists[mode])
    hits = fake_kb.retrieve("Which municipalities measure water levels in polders with sensors?")
    assert [h.chunk.rowid for h in hits] == order
