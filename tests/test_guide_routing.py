"""Guide routing and answer types with the real model on the shipped corpus (issue #13):
a Dutch question reaches the English guide's advice of the right building block, and a
question about a fact the corpus does not hold is refused with related passages shown."""

from __future__ import annotations

import pytest

from tests.conftest import copy_corpus_home

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kb(corpus_home, tmp_path_factory):
    from kb.core import KnowledgeBase

    home = copy_corpus_home(corpus_home, tmp_path_factory.mktemp("routing"))
    k = KnowledgeBase(home)
    yield k
    k.close()


def _places(answer) -> list[tuple[str, str]]:
    return [(s.source.rsplit("/", 1)[-1], s.section or "") for s in answer.sources]


def test_dutch_question_finds_the_english_action_perspectives(kb):
    a = kb.ask(
        "We willen eindelijk grip op onze gegevens: wie is eigenaar van welke "
        "dataset en hoe houden we de kwaliteit op orde? Wat moeten we als eerste regelen?"
    )
    assert a.answered
    top = _places(a)[:3]
    assert ("05-foundations.md", "5. Foundations > Data management > Action perspectives") in top, (
        top
    )


def test_dutch_pitfalls_question_finds_the_pitfalls_of_its_block(kb):
    a = kb.ask("Welke valkuilen zijn er als we een 3D-model van de hele stad laten bouwen?")
    top = _places(a)[:3]
    assert any(src == "05-foundations.md" and sec.endswith("Digital twins > Pitfalls")
               for src, sec in top), top  # fmt: skip


def test_a_municipality_question_still_finds_its_strategy(kb):
    # named municipality: no routing to the guide, the strategy stays first
    a = kb.ask("Hoeveel open datasets wil Schiedam publiceren?")
    assert a.sources and "schiedam" in a.sources[0].source


@pytest.mark.parametrize(
    "question",
    [
        # (With the default multilingual-e5-small, "Wat heeft het project met bezorgdrones in
        # Ridderkerk gekost?" is still answered from a Ridderkerk project's budget: the
        # absent-words rule does not fire at e5's cosines; see the closing figures.)
        "How much does Dordrecht pay each year for its open data portal?",
        "Hoe heet de projectleider van het glasvezelproject in Midden-Delfland?",
    ],
)
def test_a_near_miss_is_refused_with_related_passages(kb, question):
    a = kb.ask(question)
    assert a.answered is False
    assert a.sources, "the nearest passages are still shown"
    assert a.nearest_topics
