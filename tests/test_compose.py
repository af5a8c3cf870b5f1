"""The guide's facets and the composed answer: unit tests on hand-made hits, and the composer
on real retrieval with the real model over the shipped corpus (integration)."""

from __future__ import annotations

import re

import pytest

from index.store import ChunkRow, DocumentRow, Hit
from ingest.lang import detect_language
from kb.compose import (
    answer_language,
    compose_answer,
    list_items,
    municipalities_in,
    wanted_section,
    with_projects,
    with_section,
)
from kb.facets import FACETS, facet_of_question, facet_of_section
from tests.conftest import CORPUS, copy_corpus_home

MUNIS = [
    {"id": "delft", "name": "Delft"},
    {"id": "den-haag", "name": "Den Haag"},
    {"id": "schiedam", "name": "Schiedam"},
    {"id": "regional", "name": "MRDH region"},
]
CATALOGUE = {
    "data-management": {"name": "Data management", "stage": "foundations"},
    "cybersecurity": {"name": "Cybersecurity and information security", "stage": "foundations"},
}


# ---- facets -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "facet"),
    [
        ("What should we arrange in advance for data management?", "actions"),
        ("Wat moeten we regelen voor datamanagement?", "actions"),
        ("Hoe beginnen we met een digital twin?", "actions"),
        ("What are the first steps towards open data?", "actions"),
        ("Why does open data matter for a municipality?", "why"),
        ("Waarom is cybersecurity belangrijk?", "why"),
        ("What does a data catalogue bring us?", "why"),
        ("What are the risks of sensors in public space?", "pitfalls"),
        ("Waar moeten we op letten bij sensoren?", "pitfalls"),
        ("What goes wrong with it?", "pitfalls"),
        # "mis" and "went wrong" (strong) beat the weak "in de praktijk" / "in practice"
        ("En waar gaat het in de praktijk vaak mis?", "pitfalls"),
        ("What tends to go wrong with mobility projects in practice?", "pitfalls"),
        ("What went wrong with the lorry parking pilot?", "pitfalls"),
        ("Hoe werkt dat in de praktijk?", "projects"),
        ("how would we know if it's working?", "indicators"),
        ("Hoe weten we of het werkt?", "indicators"),
        ("How do we measure the success of digital inclusion?", "indicators"),
        ("Hoe meten we de voortgang van de digitale agenda?", "indicators"),
        ("Which KPIs fit algorithm transparency?", "indicators"),
        ("Welke vragen moeten we onszelf stellen over privacy?", "questions"),
        ("Which projects go with that?", "projects"),
        ("Welke projecten horen daarbij?", "projects"),
        ("What is a digital twin?", "purpose"),
        ("Tell me about Delft", None),
    ],
)
def test_facet_of_question(question, facet):
    assert facet_of_question(question, detect_language(question)) == facet


def test_a_strong_cue_beats_a_longer_weak_one():
    # "what are" (weak, purpose) is longer than "risk" but the question asks for pitfalls
    assert facet_of_question("What are the risks?", "en") == "pitfalls"
    # a Dutch question detected as English still finds its Dutch cue
    assert facet_of_question("waarom dit?", "en") == "why"


def test_facet_of_section_reads_the_real_guide_headings():
    headings = set()
    for path in sorted((CORPUS / "guide").glob("*.md")):
        headings |= set(re.findall(r"^### (.+)$", path.read_text(encoding="utf-8"), re.M))
    for f in FACETS:
        assert f.heading in headings, f.heading
        assert facet_of_section(f"5. Foundations > Data management > {f.heading}") == f.id
    assert facet_of_section("8. Writing your own digital strategy > Step 3. Start") is None
    assert facet_of_section(None) is None


# ---- composer on hand-made hits -----------------------------------------------------------
GUIDE_ACTIONS = """1. **Appoint data owners and stewards.** For each key dataset, name an owner.
   Record these roles in a data catalogue.
2. **Start a data catalogue.** Describe the most important datasets in one place.
3. **Measure and improve quality where it matters.** Select critical datasets."""
GUIDE_WHY = (
    "A municipality holds some of the most important data in society. Poor quality "
    "leads to wrong decisions about residents and wasted effort."
)


def _hit(cid, doc, text, kind, section=None, page=None, muni=None, project=None, blocks=()):
    chunk = ChunkRow(
        id=cid,
        document_id=doc,
        position=0,
        text=text,
        embed_text=text,
        kind=kind,
        page=page,
        section=section,
        municipality=muni,
        project_id=project,
        building_blocks=tuple(blocks),
    )
    return Hit(chunk, 0.5, 0.5)


def _docs():
    return {
        "g": DocumentRow("g", "k1", "05-foundations.md", "5. Foundations", "guide"),
        "p": DocumentRow(
            "p",
            "k2",
            "p.yaml",
            "Delft data ethics board",
            "project",
            "delft",
            meta={
                "project": {
                    "title": "Delft data ethics board",
                    "summary": "Delft asks a board to review data use.",
                }
            },
        ),
        "s": DocumentRow("s", "k3", "s.pdf", "Digitale strategie Schiedam", "strategy", "schiedam"),
    }


def _hits():
    return [
        _hit(
            "c1",
            "g",
            GUIDE_WHY,
            "guide",
            "5. Foundations > Data management > Why it matters to a municipality",
            blocks=["data-management"],
        ),
        _hit(
            "c2",
            "g",
            GUIDE_ACTIONS,
            "guide",
            "5. Foundations > Data management > Action perspectives",
            blocks=["data-management"],
        ),
        _hit(
            "c3",
            "p",
            "Delft asks a board to review data use. It meets monthly.",
            "project",
            "Delft data ethics board",
            muni="delft",
            project="delft-data-ethics-board",
        ),
        _hit(
            "c4",
            "s",
            "De gemeente beheert veel gegevens. Wij stellen data-eigenaren aan voor "
            "elke belangrijke dataset.",
            "strategy",
            page=9,
            muni="schiedam",
        ),
    ]


def test_dutch_question_gets_dutch_frame_and_the_facet_asked_for():
    q = "Wat moeten we vooraf regelen voor datamanagement?"
    c = compose_answer(q, "nl", _hits(), _docs(), CATALOGUE, MUNIS)
    assert c.language == "nl" and c.facet == "actions" and c.block == "data-management"
    lead, *_ = c.text.split("\n")
    assert lead.startswith("In de bronnen vond ik hierover") and "[2]" in lead
    # the action perspectives, not the first-ranked "why it matters" section
    assert (
        "Wat de handreiking adviseert (bouwsteen Data management, handelingsperspectieven):"
        in c.text
    )
    assert (
        "- **Appoint data owners and stewards.** For each key dataset, name an owner. [2]" in c.text
    )
    assert "[1]" not in c.text.split("adviseert")[1].split("Wat gemeenten")[0]
    assert "Wat gemeenten in de regio doen:" in c.text
    assert (
        "**Delft data ethics board** (Delft): Delft asks a board to review data use. [3]" in c.text
    )
    assert "Wat strategieën zeggen:" in c.text
    assert "(Digitale strategie Schiedam, p. 9) [4]" in c.text
    assert c.missing == []


def test_every_sentence_and_item_cites_an_existing_source():
    c = compose_answer(
        "What should we arrange for data management?", "en", _hits(), _docs(), CATALOGUE, MUNIS
    )
    assert c.sentences and all(s.cites for s in c.sentences)
    assert all(1 <= n <= 4 for s in c.sentences for n in s.cites)
    for line in c.text.splitlines():
        if line.startswith("- "):
            assert re.search(r"\[\d\]$", line), line
    assert c.text.startswith(
        "The sources hold advice from the guide (building block Data management)"
    )
    assert "What the guide advises (building block Data management, action perspectives):" in c.text


def test_partial_answer_names_the_municipality_and_projects_not_found():
    guide_only = [h for h in _hits() if h.chunk.kind == "guide"]
    c = compose_answer(
        "Which projects does Den Haag run on data management?",
        "en",
        guide_only,
        _docs(),
        CATALOGUE,
        MUNIS,
    )
    assert "none of the sources is from Den Haag; what follows is from elsewhere." in c.missing
    assert "I found no projects on this." in c.missing
    assert c.text.splitlines()[-1].startswith("**Not found:** None of the sources is from Den Haag")
    # the guide part is still there
    assert (
        "What the guide says (building block Data management, why it matters):" in c.text
        or "What the guide advises" in c.text
    )


def test_facet_not_found_is_said():
    why_only = _hits()[:1]
    c = compose_answer("Hoe meten we datamanagement?", "nl", why_only, _docs(), CATALOGUE, MUNIS)
    assert c.facet == "indicators"
    assert "Wat de handreiking zegt (bouwsteen Data management, waarom het ertoe doet):" in c.text
    assert c.missing == [
        "de indicatoren om te volgen van deze bouwsteen zaten niet bij de gevonden passages."
    ]


def test_no_answer_names_the_nearest_passages_without_citing_them():
    c = compose_answer(
        "Wat kost koffie op de maan?", "nl", _hits(), _docs(), CATALOGUE, MUNIS, answered=False
    )
    assert c.text.startswith("De kennisbank heeft geen betrouwbaar antwoord op deze vraag.")
    assert (
        "Het dichtst in de buurt komen: 5. Foundations (5. Foundations > Data management" in c.text
    )
    assert "Digitale strategie Schiedam (p. 9)" not in c.text  # only the three nearest
    assert "[" not in c.text and c.sentences == []
    e = compose_answer("Coffee on the moon?", "en", [], {}, CATALOGUE, MUNIS)
    assert e.text == "The knowledge base has no confident answer to this question."


def test_helpers():
    assert list_items(GUIDE_ACTIONS)[0].endswith("Record these roles in a data catalogue.")
    assert len(list_items(GUIDE_ACTIONS)) == 3 and list_items(GUIDE_WHY) == []
    assert municipalities_in("En in Den Haag en Delft?", MUNIS) == ["den-haag", "delft"]
    assert municipalities_in("Delftse aanpak", MUNIS) == []
    assert answer_language("En in Delft?", None) == "nl"
    assert answer_language("What about Delft?", None) == "en"


# ---- on real retrieval with the real model ------------------------------------------------
@pytest.fixture(scope="module")
def real_kb(corpus_home, tmp_path_factory, real_embedder):
    from kb.core import KnowledgeBase

    home = copy_corpus_home(corpus_home, tmp_path_factory.mktemp("compose"))
    kb = KnowledgeBase(home, embedder=real_embedder)
    yield kb
    kb.close()


def _compose_real(kb, question):
    """What `ask` does: retrieve, then fetch the guide section asked for when it is missing."""
    from index.store import Filters
    from kb.answer import select_diverse

    chosen = select_diverse(kb.retrieve(question, k=30), 5)
    wanted = wanted_section(question, detect_language(question), chosen)
    if wanted:
        guide = kb.retrieve(question, k=30, filters=Filters(kind="guide", building_block=wanted[0]))
        chosen = with_section(chosen, guide, *wanted)
    docs = {h.chunk.document_id: kb.store.document(h.chunk.document_id) for h in chosen}
    lang = detect_language(question)
    return compose_answer(
        question,
        lang,
        chosen,
        docs,
        kb.building_blocks(),
        kb.municipalities(),
        answered=kb.retriever.confident(question, chosen),
        project_titles={p["id"]: p["title"] for p in kb.projects()},
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("question", "block", "name"),
    [
        (
            "Welke valkuilen zijn er bij sensoren in de openbare ruimte?",
            "sensors-iot",
            "Sensors and IoT in public space",
        ),
        ("Hoe beginnen we met een digital twin?", "digital-twins", "Digital twins"),
    ],
)
def test_dutch_guide_question_gets_dutch_lead_and_english_advice(real_kb, question, block, name):
    c = _compose_real(real_kb, question)
    lead = c.text.split("\n")[0]
    assert lead.startswith("In de bronnen vond ik hierover advies uit de handreiking")
    assert c.block == block
    header = next(line for line in c.text.splitlines() if line.startswith("Wat de handreiking"))
    assert f"(bouwsteen {name}, " in header
    items = c.text.split(header + "\n")[1].split("\n\n")[0].splitlines()
    assert items and all(re.search(r"\[\d\]$", i) for i in items)
    english = " ".join(re.sub(r"\[\d\]|[*`]", "", i) for i in items)
    assert detect_language(english) == "en"


@pytest.mark.integration
def test_unanswerable_question_is_honest_with_related_passages(real_kb):
    c = _compose_real(real_kb, "Wat is de beste pizzeria in Napels?")
    assert c.text.startswith(
        "De kennisbank heeft geen betrouwbaar antwoord op deze vraag. "
        "Het dichtst in de buurt komen: "
    )
    assert c.text.count(";") == 2  # three related passages named


# ---- Markdown export ----------------------------------------------------------------------
def test_markdown_export_links_each_pdf_page_and_names_sections():
    from kb.answer import Answer, BlockRef, make_sources
    from kb.export import answer_markdown_export

    hits, docs = _hits(), _docs()
    c = compose_answer("Wat moeten we regelen voor datamanagement?", "nl", hits, docs,
                       CATALOGUE, MUNIS)  # fmt: skip
    answer = Answer("En in Schiedam?", c.text, True, make_sources(hits, docs),
                    [BlockRef("data-management", "Data management", "foundations", 1.0)],
                    resolved_question="Wat moeten we regelen voor datamanagement in Schiedam?",
                    language="nl", missing=c.missing)  # fmt: skip
    md = answer_markdown_export(answer, {"s": "files/s.pdf", "g": "files/guide.md"})
    lines = md.splitlines()
    assert lines[0] == "## En in Schiedam?"
    assert "*Ik zocht naar: Wat moeten we regelen voor datamanagement in Schiedam?*" in lines
    assert c.text in md
    assert "**Bouwstenen:** Data management" in lines
    assert "### Bronnen" in lines
    assert ("1. [5. Foundations](<files/guide.md>) (sectie: 5. Foundations > Data management > "
            "Why it matters to a municipality)") in lines  # fmt: skip
    assert "3. Delft data ethics board (delft)" in lines  # no file given: no link
    assert "4. [Digitale strategie Schiedam, p. 9](<files/s.pdf#page=9>) (schiedam)" in lines
    assert lines[lines.index("4. [Digitale strategie Schiedam, p. 9](<files/s.pdf#page=9>) "
                             "(schiedam)") + 1].startswith("   > De gemeente beheert")  # fmt: skip
    # a function of the source works as well, and English labels follow the answer
    en = Answer("Q?", "A [1].", True, make_sources(hits[3:], docs), language="en")
    md = answer_markdown_export(en, lambda s: f"/file/{s.document_id}")
    assert "### Sources" in md and "1. [Digitale strategie Schiedam, p. 9](</file/s#page=9>)" in md


def test_wanted_section_and_with_section_fetch_the_facet_asked_for():
    why = _hits()[0]
    actions = _hits()[1]
    project = _hits()[2]
    q = "Wat moeten we vooraf regelen voor datamanagement?"
    assert wanted_section(q, "nl", [project, why]) == ("data-management", "actions")
    assert wanted_section(q, "nl", [why, actions]) is None  # already there
    assert wanted_section("Welke projecten zijn er?", "nl", [why]) is None
    assert wanted_section("Vertel iets over Delft", "nl", [why]) is None  # no facet asked
    out = with_section([project, why], [why, actions], "data-management", "actions")
    assert out == [project, actions]  # the guide hit of another facet makes way
    out = with_section([project], [actions], "data-management", "actions")
    assert out == [actions]
    assert with_section([project], [why], "data-management", "actions") == [project]


def test_related_projects_are_named_by_title():
    hit = _hit(
        "c9",
        "g",
        "- `delft-data-ethics-board`\n- `x-unknown`",
        "guide",
        "7. Public value > Data management > Related projects",
        blocks=["data-management"],
    )
    c = compose_answer(
        "Which projects go with data management?",
        "en",
        [hit],
        _docs(),
        CATALOGUE,
        MUNIS,
        project_titles={"delft-data-ethics-board": "Delft data ethics board"},
    )
    assert "- Delft data ethics board (`delft-data-ethics-board`) [1]" in c.text
    assert "- `x-unknown` [1]" in c.text


def test_wanted_section_follows_the_conversation_block():
    why = _hits()[0]
    q = "Hoe meten ze dat?"
    assert wanted_section(q, "nl", [why], block="cybersecurity") == ("cybersecurity", "indicators")


def test_with_projects_makes_room_for_projects_asked_for():
    guide, _, project, strategy = _hits()
    other = _hit("c7", "p2", "Rotterdam runs a data board.", "project", "Rotterdam board",
                 muni="rotterdam", project="rotterdam-board")  # fmt: skip
    out = with_projects([guide, strategy, project], [project, other])
    assert out == [guide, other, project]  # the strategy hit made way; nothing duplicated
    assert with_projects([guide, project], [other]) == [guide, project]  # no spare place


def test_a_table_of_contents_is_not_quoted():
    toc = _hit("c8", "s", "Programmalijn 3: Open data 9 6.1 Datamanagement 9 6.2 Open data 9 "
               "6.3 Resultaten 10\n\n6.1 Datamanagement beheren we samen met de buurgemeenten "
               "in een gedeelde omgeving.", "strategy", page=2, muni="schiedam")  # fmt: skip
    c = compose_answer("Hoe regelen we datamanagement?", "nl", [toc], _docs(), CATALOGUE, MUNIS)
    assert (
        "“Datamanagement beheren we samen met de buurgemeenten in een gedeelde omgeving.”" in c.text
    )


def test_with_projects_fills_up_to_the_number_wanted():
    guide, _, project, strategy = _hits()
    more = [_hit(f"m{i}", "p", f"Project {i} text here.", "project", f"P{i}", project=f"p{i}")
            for i in range(3)]  # fmt: skip
    out = with_projects([project, strategy, strategy, strategy], more)
    assert [h.chunk.project_id for h in out] == ["delft-data-ethics-board", None, "p1", "p0"]


def test_a_document_that_is_the_best_source_leads_the_answer():
    """A question about one document ("wat staat er in de strategie van Schiedam over
    data-eigenaren?"): when that document is source [1] it comes first, quoted at more
    length; the guide's advice follows. With the guide at [1] the usual order holds."""
    hits = _hits()
    doc_first = [hits[3], hits[1], hits[2], hits[0]]
    q = "Wat zegt de strategie over data-eigenaren voor elke belangrijke dataset?"
    c = compose_answer(q, "nl", doc_first, _docs(), CATALOGUE, MUNIS)
    lead = c.text.split("\n")[0]
    assert lead.index("Digitale strategie Schiedam") < lead.index("handreiking")
    assert c.text.index("Wat strategieën zeggen:") < c.text.index("Wat de handreiking")
    assert ("“De gemeente beheert veel gegevens. Wij stellen data-eigenaren aan voor elke "
            "belangrijke dataset.” (Digitale strategie Schiedam, p. 9) [1]") in c.text
    assert all(f"[{n}]" in c.text for n in (1, 2, 3))
    usual = compose_answer(q, "nl", hits, _docs(), CATALOGUE, MUNIS)
    assert usual.text.index("Wat de handreiking") < usual.text.index("Wat strategieën zeggen:")


def test_a_project_that_is_the_best_source_comes_before_the_guide():
    """'Welke gemeenten werken met een data-ethiekcommissie?' with the project at [1] and
    the guide at [2]: the projects lead; the guide's advice follows."""
    hits = _hits()
    q = "Welke gemeenten hebben een commissie die het datagebruik toetst?"
    c = compose_answer(q, "nl", [hits[2], hits[1], hits[0], hits[3]], _docs(), CATALOGUE, MUNIS)
    assert c.text.index("Wat gemeenten in de regio doen:") < c.text.index("Wat de handreiking")
    assert c.text.index("Wat de handreiking") < c.text.index("Wat strategieën zeggen:")
    lead = c.text.split("\\n")[0]
    assert lead.index("project") < lead.index("handreiking")
