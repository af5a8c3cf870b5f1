"""Follow-up questions resolved against the previous turn, without a language model."""

from __future__ import annotations

import pytest
import yaml

from kb.followup import Resolved, Turn, resolve_followup, searched_for, topic_of
from tests.conftest import CORPUS

MUNIS = yaml.safe_load((CORPUS / "municipalities.yaml").read_text(encoding="utf-8"))[
    "municipalities"
]
CATALOGUE = {
    "data-management": {"name": "Data management", "stage": "foundations"},
    "cybersecurity": {"name": "Cybersecurity and information security", "stage": "foundations"},
    "digital-twins": {"name": "Digital twins", "stage": "foundations"},
}
DM = Turn("Wat moeten we vooraf regelen voor datamanagement?", answer_blocks=("data-management",))
CYBER = Turn("What does Schiedam do about cybersecurity?", answer_blocks=("cybersecurity",))
TWIN_EN = Turn("How do we start with a digital twin?", answer_blocks=("digital-twins",))


def resolve(q: str, *history: Turn) -> Resolved:
    return resolve_followup(q, list(history), MUNIS, CATALOGUE)


@pytest.mark.parametrize(
    ("prev", "question", "expected", "reason", "municipality"),
    [
        # a new municipality: the previous topic, there
        (DM, "En in Delft?", "Wat moeten we vooraf regelen voor datamanagement in Delft?",
         "municipality", "delft"),
        (DM, "Delft", "Wat moeten we vooraf regelen voor datamanagement in Delft?",
         "municipality", "delft"),
        (DM, "alleen Den Haag", "Wat moeten we vooraf regelen voor datamanagement in Den Haag?",
         "municipality", "den-haag"),
        (CYBER, "what about Capelle aan den IJssel?",
         "What does Capelle aan den IJssel do about cybersecurity?", "municipality",
         "capelle-aan-den-ijssel"),
        (CYBER, "En in Delft?", "What does Delft do about cybersecurity?", "municipality", "delft"),
        (TWIN_EN, "And in Rotterdam?", "How do we start with a digital twin in Rotterdam?",
         "municipality", "rotterdam"),
        # a pronoun and a new facet: the previous topic, that facet
        (DM, "Hoe meten ze dat?", "Hoe meten ze datamanagement?", "facet", None),
        (DM, "Waarom is dat belangrijk?", "Waarom is datamanagement belangrijk?", "facet", None),
        (DM, "En de valkuilen?", "De valkuilen bij datamanagement?", "facet", None),
        (CYBER, "What goes wrong with it?", "What goes wrong with cybersecurity in Schiedam?",
         "facet", None),
        (CYBER, "and the pitfalls?", "The pitfalls for cybersecurity in Schiedam?", "facet", None),
        (TWIN_EN, "How do we measure that?", "How do we measure digital twin?", "facet", None),
        (TWIN_EN, "Why does it matter?", "Why does digital twin matter?", "facet", None),
        # a new aspect of the old topic
        (DM, "En de kosten?", "De kosten bij datamanagement?", "aspect", None),
    ],
)  # fmt: skip
def test_followup_is_resolved(prev, question, expected, reason, municipality):
    r = resolve(question, prev)
    assert (r.question, r.changed, r.reason, r.municipality) == (
        expected, True, reason, municipality)  # fmt: skip


def test_which_projects_go_with_that_names_the_previous_block():
    r = resolve("Welke projecten horen daarbij?", DM)
    assert r.question == "Welke projecten horen bij Data management?"
    assert (r.reason, r.kind, r.building_block, r.facet) == (
        "projects", "project", "data-management", "projects")  # fmt: skip
    r = resolve("Which projects go with that?", TWIN_EN)
    assert r.question == "Which projects go with Digital twins?"
    assert r.building_block == "digital-twins"
    # without a block in the previous answer, its topic words
    r = resolve("Which projects go with that?", Turn("How do we start with a digital twin?"))
    assert r.question == "Which projects go with digital twin?" and r.building_block is None


def test_bare_filter_keeps_the_previous_question():
    r = resolve("alleen projecten", DM)
    assert (r.question, r.reason, r.kind) == (DM.question, "filter", "project")
    r = resolve("only strategies", CYBER)
    assert (r.question, r.reason, r.kind) == (CYBER.question, "filter", "strategy")


@pytest.mark.parametrize(
    "question",
    [
        "Wat zijn de valkuilen van slimme straatverlichting?",
        "How does Rotterdam use digital twins for climate adaptation?",
        "Welke projecten zijn er rond glasvezel in het buitengebied?",
        "Which municipalities work on digital inclusion of seniors?",
        "What is an algorithm register?",
    ],
)
def test_standalone_question_stays_unchanged(question):
    r = resolve(question, DM)
    assert (r.question, r.changed, r.reason) == (question, False, "")


def test_no_history_means_no_change():
    assert resolve("En in Delft?") == Resolved("En in Delft?", False)


def test_only_the_last_turn_counts_and_its_resolved_text_is_used():
    first = Turn("Wat moeten we regelen voor datamanagement?", answer_blocks=("data-management",))
    second = Turn("En in Delft?", resolved="Wat moeten we regelen voor datamanagement in Delft?",
                  answer_blocks=("data-management",))  # fmt: skip
    r = resolve("En in Schiedam?", first, second)
    assert r.question == "Wat moeten we regelen voor datamanagement in Schiedam?"
    r = resolve("Hoe meten ze dat?", first, second)
    assert r.question == "Hoe meten ze datamanagement in Delft?"


def test_turn_from_dict_and_searched_for_line():
    t = Turn.from_dict({"question": "En in Delft?", "resolved": "X in Delft?",
                        "answer_blocks": ["data-management"], "other": 1})  # fmt: skip
    assert t == Turn("En in Delft?", "X in Delft?", ("data-management",))
    assert searched_for(Resolved("X in Delft?", True), "nl") == "Ik zocht naar: X in Delft?"
    assert searched_for(Resolved("X in Delft?", True), "en") == "I searched for: X in Delft?"
    assert (
        topic_of("Wat moeten we regelen voor datamanagement in Delft?", MUNIS) == "datamanagement"
    )


def test_a_new_municipality_keeps_the_previous_filters():
    prev = Turn("Welke projecten horen daarbij?", "Welke projecten horen bij Data management?",
                ("data-management",), kind="project", building_block="data-management")  # fmt: skip
    r = resolve("En in Delft?", prev)
    assert r.question == "Welke projecten horen bij Data management in Delft?"
    assert (r.municipality, r.kind, r.building_block) == ("delft", "project", "data-management")


def test_a_new_facet_names_the_previous_block_as_topic():
    r = resolve("Hoe meten ze dat?", DM)
    assert (r.topic_block, r.building_block) == ("data-management", None)  # a hint, not a filter


def test_block_named_by_the_topic_beats_the_previous_answer_block():
    from kb.routing import block_named

    assert block_named("datamanagement", CATALOGUE) == "data-management"
    assert block_named("a digital twin", CATALOGUE) == "digital-twins"
    assert block_named("slimme verlichting", CATALOGUE) is None
    # the previous answer's best block was another one; the topic names data management
    prev = Turn("Wat moeten we regelen voor datamanagement?", answer_blocks=("cybersecurity",))
    assert resolve("Hoe meten we dat?", prev).topic_block == "data-management"


# ---- follow-ups with words of their own, facets without a pointer, short names -------------
SENSORS = Turn("Wat moeten we regelen voordat we sensoren in de straat ophangen?",
               answer_blocks=("sensors-iot",))  # fmt: skip
OPEN_EN = Turn("We want to start publishing open data. Where do we begin?",
               answer_blocks=("open-data",))  # fmt: skip
DEBT = Turn("Welke gemeenten sporen mensen met geldzorgen vroeg op?")
ACADEMY = Turn("Which municipalities train their civil servants in a data academy?")
ZOETERMEER = Turn("Wat gaat Zoetermeer doen aan de digitale balie?")
WESTLAND = Turn("What does Westland do about fast internet for greenhouses?")
TWIN_ZOETERMEER = Turn("Tell me about the 3D model Zoetermeer is building.")
STOPPED = Turn("Which sensor projects were stopped?")
COMMON = Turn("Welke gemeenten werken met Common Ground?")
ROTTERDAM = Turn("What is Rotterdam planning on cybersecurity?")


@pytest.mark.parametrize(
    ("prev", "question", "expected", "reason", "facet", "municipality"),
    [
        # the pitfalls cue "mis" beats the weak "in de praktijk"
        (SENSORS, "En waar gaat het in de praktijk vaak mis?",
         "Waar gaat sensoren straat ophangen in de praktijk vaak mis?", "facet", "pitfalls", None),
        # "how would we know" asks for the indicators; "it's" becomes "<topic> is"
        (OPEN_EN, "how would we know if it's working?",
         "How would we know if publishing open data is working?", "facet", "indicators", None),
        # a facet and no topic, no pointer: the old topic
        (OPEN_EN, "what questions should we ask ourselves then?",
         "What questions should we ask ourselves then for publishing open data?", "facet",
         "questions", None),
        # a pointer and one or two words of their own: an aspect of the old topic
        (DEBT, "Hoe gaan ze daarbij om met privacy?",
         "Hoe gaan ze bij sporen mensen geldzorgen vroeg om met privacy?", "aspect", None,
         None),
        (ACADEMY, "what did they learn from it?",
         "What did they learn from train civil servants data academy?", "aspect", None, None),
        (ZOETERMEER, "Wanneer moet dat klaar zijn?",
         "Wanneer moet digitale balie klaar zijn in Zoetermeer?", "aspect", None, None),
        # "the X one" points at an item of the last answer
        (STOPPED, "What went wrong with the lorry parking one?",
         "What went wrong with the lorry parking sensor were stopped?", "facet", "pitfalls",
         None),
        # others than the last municipality: it is not added
        (TWIN_ZOETERMEER, "Are there others like it in the region?",
         "Are there others like 3D model building in the region?", "aspect", None, None),
        # a municipality and a pointer: the old topic there, filtered on it
        (COMMON, "Met welke buurgemeenten doet Leidschendam-Voorburg dat?",
         "Met welke buurgemeenten doet Leidschendam-Voorburg Common Ground?", "aspect", None,
         "leidschendam-voorburg"),
        # a municipality by the first word of its name
        (ROTTERDAM, "And Capelle?", "What is Capelle aan den IJssel planning on cybersecurity?",
         "municipality", None, "capelle-aan-den-ijssel"),
    ],
)  # fmt: skip
def test_followup_with_words_of_its_own(prev, question, expected, reason, facet, municipality):
    r = resolve(question, prev)
    assert (r.question, r.changed, r.reason, r.facet, r.municipality) == (
        expected, True, reason, facet, municipality)  # fmt: skip


def test_which_projects_keeps_the_municipality_of_the_last_turn():
    r = resolve("which projects belong to that?", WESTLAND)
    assert r.question == "Which projects go with fast internet greenhouses in Westland?"
    assert (r.kind, r.municipality, r.facet) == ("project", "westland", "projects")
    r = resolve("Welke projecten horen daarbij?", ZOETERMEER)
    assert r.question == "Welke projecten horen bij digitale balie in Zoetermeer?"
    assert r.municipality == "zoetermeer"
    # "which municipalities / who else" asks across the region: no filter
    r = resolve("Welke gemeenten doen dat al?", ZOETERMEER)
    assert (r.question, r.municipality) == ("Welke projecten horen bij digitale balie?", None)
    r = resolve("Who else does that?", WESTLAND)
    assert (r.question, r.municipality) == ("Who else does fast internet greenhouses?", None)
    # two municipalities in the last turn: no filter
    r = resolve("Which projects go with that?", Turn("What do Delft and Westland do about fibre?"))
    assert (r.question, r.municipality) == ("Which projects go with fibre?", None)


def test_the_block_topic_of_a_new_facet_is_the_previous_answer_block():
    r = resolve("En waar gaat het in de praktijk vaak mis?", SENSORS)
    assert r.topic_block == "sensors-iot"
    r = resolve("how would we know if it's working?", OPEN_EN)
    assert r.topic_block == "open-data"


@pytest.mark.parametrize(
    "question",
    [
        # a building block of its own and no pointer: a new topic
        "En cybersecurity?",
        "And what about digital twins?",
        # 'it' as a dummy subject with two words of their own
        "Why does it matter to have a data catalogue?",
        # 'het' as an article, 'dat' as a conjunction, a long question
        "Wat is het doel van een datacatalogus?",
        "Is het waar dat Delft een eigen datacatalogus heeft gebouwd voor alle inwoners?",
        "How do municipalities in the region measure the use of their digital services?",
    ],
)
def test_new_topic_with_history_stays_standalone(question):
    r = resolve(question, DM)
    assert (r.question, r.changed) == (question, False)


def test_municipalities_named_by_a_short_name():
    from kb.followup import municipalities_named

    assert municipalities_named("And Capelle?", MUNIS) == ["capelle-aan-den-ijssel"]
    assert municipalities_named("Leidschendam en Delft", MUNIS) == [
        "leidschendam-voorburg",
        "delft",
    ]
    # "Krimpen" is Krimpen aan den IJssel; a bare "aan" or "den" names nothing
    assert municipalities_named("krimpen", MUNIS) == ["krimpen-aan-den-ijssel"]
    assert municipalities_named("aan den slag", MUNIS) == []


def test_topic_block_through_the_english_rendering_or_a_shared_word():
    from kb.followup import topic_block

    blocks = {**CATALOGUE, "care-wellbeing": {"name": "Care and wellbeing"},
              "algorithm-transparency": {"name": "Transparency of algorithms"},
              "digital-inclusion": {"name": "Digital inclusion and skills"}}  # fmt: skip
    # "zorg welzijn" is "care wellbeing" in English; the last answer had that block second
    assert topic_block("zorg welzijn", ("cybersecurity", "care-wellbeing"), blocks) == (
        "care-wellbeing")  # fmt: skip
    # a block named only in the rendering counts only when the last answer has it
    assert topic_block("zorg welzijn", ("cybersecurity",), blocks) == "cybersecurity"
    # 'algoritme' -> 'algorithm' shares its first letters with 'algorithms'
    assert topic_block("algoritme inzetten handhaving", ("digital-inclusion",
                       "algorithm-transparency"), blocks) == "algorithm-transparency"  # fmt: skip
    # a word that several block names share ('digital') does not choose
    assert topic_block("digitale loketten", ("data-management", "digital-inclusion"),
                       blocks) == "data-management"  # fmt: skip
    assert topic_block("iets anders", (), blocks) is None


def test_a_municipality_after_a_project_question_keeps_to_projects():
    prev = Turn("Welke projecten gaan over de cyberweerbaarheid van de organisatie?")
    r = resolve("Schiedam?", prev)
    assert (
        r.question
        == "Welke projecten gaan over de cyberweerbaarheid van de organisatie in Schiedam?"
    )
    assert (r.reason, r.municipality, r.kind) == ("municipality", "schiedam", "project")
    # not after a question that is not about projects
    assert resolve("Schiedam?", CYBER).kind is None


def test_others_like_it_names_the_block_of_the_last_answer():
    prev = Turn("Tell me about the 3D model Zoetermeer is building.",
                answer_blocks=("digital-twins",))  # fmt: skip
    r = resolve("Are there others like it in the region?", prev)
    assert r.question == "Are there others like 3D model building (Digital twins) in the region?"
    assert r.municipality is None
