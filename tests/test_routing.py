"""Fast unit tests of the guide routing (kb/routing.py) and the answer-type rules
(kb/answer_type.py)."""

from __future__ import annotations

import pytest

from index.store import Filters
from kb import answer_type, routing

REGION = ["Delft", "Den Haag", "Capelle aan den IJssel", "Rotterdam", "Westland", "The Hague"]


@pytest.fixture
def foundations(fake_kb, tmp_path):
    """The shipped guide chapter '5. Foundations' (six building blocks) in `fake_kb`."""
    import shutil

    from tests.conftest import CORPUS

    guide = tmp_path / "guide"
    guide.mkdir()
    shutil.copy(CORPUS / "guide" / "05-foundations.md", guide)
    fake_kb.ingest([guide])
    return fake_kb


@pytest.mark.parametrize(
    ("question", "facet"),
    [
        ("Wat moeten we vooraf regelen voordat we sensoren ophangen?", "action"),
        ("Which steps should we take before we launch a chatbot?", "action"),
        ("Waarom zou een gemeente investeren in datakwaliteit?", "why"),
        ("Why does open data matter for a small town?", "why"),
        ("Wat zijn de valkuilen bij een digitale tweeling?", "pitfalls"),
        ("What usually goes wrong with shared service centres?", "pitfalls"),
        ("Hoe meten we of inwoners beter geholpen worden? Welke KPI's?", "indicators"),
        ("How do we measure progress on cybersecurity?", "indicators"),
        ("Welke vragen moeten we onszelf stellen over algoritmes?", "questions"),
        ("Onze chatbot draait op één leverancier. Is dat een probleem?", "pitfalls"),
        ("Waarom lopen projecten met sensoren in de wijk zo vaak vast?", "pitfalls"),
        ("Hoe weet je of het dashboard ook echt gebruikt wordt?", "indicators"),
        ("Which figures should the council see about our servers?", "indicators"),
    ],
)
def test_facet_cues_in_both_languages(question, facet):
    assert facet in routing.facets(question)


def test_the_search_also_favours_the_facet_the_answer_will_quote():
    """A cue only the composer's table (kb/facets.py) knows still reaches the search."""
    from kb.facets import facet_of_question

    question = "Wat kan er misgaan met bewegingssensoren bij ouderen thuis?"
    assert facet_of_question(question) == "pitfalls"
    assert "pitfalls" in routing.facets(question)
    assert "action" in routing.facets("Hoe kunnen we de wijkteams helpen met data?")


def test_no_facet_for_a_plain_topic():
    assert routing.facets("parkeersensoren") == {}


def test_facet_of_section_reads_the_heading_path():
    assert routing.facet_of_section("5. Foundations > Data management > Pitfalls") == "pitfalls"
    assert (routing.facet_of_section("3. Ambition > Vision and ambition > Why it matters to a "
                                     "municipality") == "why")  # fmt: skip
    assert routing.facet_of_section("9. Regional collaboration > Making it last") is None
    assert routing.facet_of_section(None) is None


def test_guide_like_excludes_named_municipalities_and_who_does_what():
    assert routing.guide_like("Hoe beginnen we met een datacatalogus?", REGION)
    assert not routing.guide_like("Hoe begint Delft met een datacatalogus?", REGION)
    assert not routing.guide_like("Which municipalities already use parking sensors?", REGION)
    assert not routing.guide_like("Welke gemeenten werken met beeldbellen?", REGION)
    # the inhabitants and the adjective count as the place
    assert not routing.guide_like(
        "Waar kunnen Schiedammers terecht met DigiD?", REGION + ["Schiedam"]
    )
    assert not routing.guide_like("Wat doet de Delftse aanpak anders?", REGION)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Wat is het budget van het project met slimme straatverlichting?", "amount"),
        ("How much did the city spend on its digital twin?", "amount"),
        ("Wat kostte het project met vulgraadsensoren?", "amount"),
        ("Wanneer zijn de volgende verkiezingen?", "date"),
        ("In welk jaar startte het platform?", "date"),
        ("Hoeveel inwoners gebruiken de servicedesk?", "number"),
        ("How many hours of training does the guide recommend?", "number"),
        ("Hoe heet de wethouder die digitalisering in zijn portefeuille heeft?", "person"),
        ("What is the name of the project lead of the digital twin?", "person"),
        ("Why does data quality matter?", None),
    ],
)
def test_asked_type(question, kind):
    assert answer_type.asked_type(question) == kind


def test_fact_must_be_near_the_subject():
    text = ("The municipality replaced its street lights with LED fittings. The pilot with "
            "smart street lighting cost € 250,000 over two years. "
            "Residents were consulted.")  # fmt: skip
    subject = answer_type.subject_words("What did the smart street lighting pilot cost?")
    assert answer_type.fact_near_subject("amount", text, subject, 0.5, window=0)
    other = ("Sensors in waste containers report their fill level. The budget for the "
             "library renovation was € 2 million. Nothing else is known.")  # fmt: skip
    assert not answer_type.fact_near_subject("amount", other, subject, 0.5, window=0)
    # a fact of another type does not count
    assert not answer_type.fact_near_subject("person", text, subject, 0.5)


def test_record_facts_count_for_the_whole_text():
    subject = answer_type.subject_words("What did the data academy cost?")
    text = "A data academy teaches policy advisers to work with data."
    assert answer_type.fact_near_subject("amount", text, subject, 0.5, extra="budget € 120000")
    assert not answer_type.fact_near_subject("amount", text, subject, 0.5, extra="2024")


def test_unknown_places_outside_the_region():
    def df(term: str) -> int:
        return 0 if term in {"utrecht", "dordrecht", "alphen", "alph"} else 5

    found = answer_type.unknown_places(
        "Hoeveel betaalt Dordrecht per jaar voor het SOC?", REGION, df, 0
    )
    assert found == ["Dordrecht"]
    assert answer_type.unknown_places("How much did Utrecht spend, compared with Rotterdam?",
                                      REGION, df, 0) == ["Utrecht"]  # fmt: skip
    assert answer_type.unknown_places("Wat kostte het project in Alphen aan den Rijn?",
                                      REGION, df, 0) == ["Alphen aan den Rijn"]  # fmt: skip
    # the region's own places, acronyms and words the corpus knows are no unknown places
    assert answer_type.unknown_places("Wat doet Den Haag en wat doet Capelle?", REGION, df, 0) == []
    assert answer_type.unknown_places("Welk artikel van de AVG geldt in NIS2?", REGION, df, 0) == []
    assert answer_type.unknown_places("What does Westland's network cost?", REGION, df, 0) == []


def test_structure_ranks_the_asked_facet_of_the_best_block_first(fake_kb, foundations):
    """The guide's section ranking (kb/structure.py) on the shipped chapter, fake embedder:
    the block the hits point to, and within it the facet asked for, comes first."""
    r = fake_kb.retriever
    q = r.analyse("data catalogue, data owners and stewards, quality of key datasets")
    hits = fake_kb.store.search(r.embed(q), 50, Filters(kind="guide"), text=q.text,
                                mode="hybrid", expansion=q.expansion)  # fmt: skip
    for facet, heading in (("pitfalls", "Pitfalls"), ("indicators", "Indicators to monitor")):
        order = r.guide.ranking(hits, {facet: 1}, top_blocks=2, facet_bonus=6.0)
        first = fake_kb.store.chunks(order[:1])[order[0]]
        assert first.section.endswith(f"Data management > {heading}"), first.section
    # without a facet the block's own best section leads, and it is of the same block
    order = r.guide.ranking(hits, {}, top_blocks=2, facet_bonus=6.0)
    assert "Data management" in fake_kb.store.chunks(order[:1])[order[0]].section
    # a block the question names leads, whatever the hits say ("cybersecurity" is a block
    # of the same chapter that these hits are not about)
    named = routing.block_named("Welke valkuilen heeft cybersecurity?",
                                fake_kb.catalogue.building_blocks())  # fmt: skip
    order = r.guide.ranking(hits, {"pitfalls": 1}, top_blocks=2, facet_bonus=6.0, named=named)
    first = fake_kb.store.chunks(order[:1])[order[0]]
    assert named and named in first.building_blocks and first.section.endswith("Pitfalls")


def test_guide_routing_is_off_for_a_named_municipality_and_other_kinds(fake_kb):
    from tests.conftest import CORPUS

    fake_kb.catalogue.register_municipalities(CORPUS / "municipalities.yaml")
    r = fake_kb.retriever
    q = r.analyse("Wat moeten we vooraf regelen voor een datacatalogus?")
    assert r.routes_to_guide(q, None)
    assert not r.routes_to_guide(q, Filters(kind="project"))
    assert not r.routes_to_guide(q, Filters(municipality="delft"))
    assert not r.routes_to_guide(r.analyse("Wat regelt Delft vooraf voor data?"), None)


def test_a_what_is_question_goes_to_the_guide_only_for_a_building_block(fake_kb, foundations):
    """'Wat is Common Ground?' asks for a definition of something that is no building block:
    the guide's purpose sections (what a block is about) are not its answer, so the
    structure ranking stays out and a document about it can come first."""
    r = fake_kb.retriever
    common = r.analyse("Wat is Common Ground?")
    assert routing.guide_like(common.text) and set(routing.facets(common.text)) == {"purpose"}
    assert not r.routes_to_guide(common, None)
    assert r.routes_to_guide(r.analyse("Wat houdt datamanagement in?"), None)
    assert r.routes_to_guide(r.analyse("Wat is een digital twin?"), None)
    # another facet still goes to the guide, whatever its subject
    assert r.routes_to_guide(r.analyse("Wat zijn de valkuilen van Common Ground?"), None)


def test_a_just_added_document_keeps_its_place_above_the_guides_structure(
        fake_kb, foundations, tmp_path):  # fmt: skip
    """The structure ranking lifts guide sections for guide-like questions; a passage that
    is closer to the question than every guide section (a document added after tuning,
    about just this) stays first with `lead_margin`, and is buried without it."""
    from tests.conftest import make_pdf

    pdf = make_pdf(tmp_path / "crash-course.pdf", [
        "Zaakgericht werken: hoe werkt zaakgericht werken in de gemeente? Bij zaakgericht "
        "werken staat elke zaak centraal, van aanvraag tot besluit, met een zaaktype per "
        "product en een zaakdossier dat alle documenten van de zaak bundelt.",
    ])  # fmt: skip
    fake_kb.ingest([pdf], kind="strategy")
    q = fake_kb.retriever.analyse("Hoe werken we zaakgericht met zaaktypen en zaakdossiers?")
    assert fake_kb.retriever.routes_to_guide(q, None)
    structure = dict(structure_weight=3.0, top_blocks=3, facet_bonus=6.0)
    buried = fake_kb.retriever.configured(**structure).retrieve(q, k=20)
    kept = fake_kb.retriever.configured(**structure, lead_margin=0.05).retrieve(q, k=20)
    assert buried[0].chunk.kind == "guide" and kept[0].chunk.kind == "strategy"
    assert {h.chunk.rowid for h in kept} == {h.chunk.rowid for h in buried}
