"""The "no answer" signal beside the dense score: the question's informative words that the
best hits do not hold, in either language, and that the corpus hardly knows.

A question the corpus cannot answer usually hinges on one such word (a tax the corpus never
mentions, a technology no project uses); an answerable one is phrased in words the answering
passage shares, directly or through the glossary's translations. Municipality names, the
function words of both languages and words many chunks hold are not informative.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from index.glossary import glossary
from index.lexical import STOPWORDS, tokens

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Function words, auxiliaries and the commonest verbs and adverbs of questions, Dutch and
# English, with the words of "how much / how high / how long" questions: they carry no
# subject, so their absence from a passage says nothing.
FUNCTION_WORDS = frozenset(
    """about after again all also am an any anybody anyone anything are around ask asks away
    back be became because been before being best better between both but came can cannot
    could did do does doing done down during each else elsewhere enough even ever every
    everyone everything far few first for get gets getting give go goes going gone got had
    has have having her here high him his how however if into is it just keep kind know last
    less long
    let like likely little look made make makes many may me might more most much must my
    near need needs never new next no nobody none nor not nothing now off often old once one
    only other others our out over own per put quite rather really right same say says see
    seem she should since so some someone something still such sure take tell than that then
    there these they thing things think this those though through thus too try tried under
    until up upon us use used using very want wants way ways well went were whether while
    who whom whose why will within without would yes yet
    aan al alle alleen als altijd ander andere anders ben bent bij binnen blijft boven daar
    daarom dan dat de deze die dit doe doen doet door dus echt een eens eerst eigen eigenlijk
    elk elke en er erg even gaan gaat ge gedaan geen gewoon goed groot had hadden heb hebben
    hebt heeft hem het hier hij hoe hoeveel hoog hun iemand iets ik in is ja je jij jouw kan
    komen komt kon kunnen kunt laat lang laten maakt maar maken me meer meest men met mij mijn
    moet moeten
    mogen na naar net niet niets nog nooit nu of om onder ons onze ook op over precies staat
    steeds straks tegen toch toe tot u uit uw vaak van veel ver voor waar waarom wanneer want
    waren
    was wat we weer wel welk welke werd werden wie wij wil willen wilt word worden wordt zal
    ze zelf zich zien zij zijn zo zoals zonder zou zouden zullen""".split()
)


def informative_words(question: str, names: Iterable[str] = ()) -> list[str]:
    """The question's words that could carry its subject: not function words, not names."""
    skip = {w.lower() for w in names}
    return [w for w in _WORD.findall(question.lower())
            if len(w) > 2 and not w.isdigit() and w not in STOPWORDS
            and w not in FUNCTION_WORDS and w not in skip]  # fmt: skip


def word_terms(word: str) -> set[str]:
    """A word's stemmed terms in both languages, with those of its glossary translations."""
    out = set(tokens(word))
    g = glossary()
    for source in ("nl", "en"):
        for _, translations in g.segments(word, source):
            for t in translations:
                out |= set(tokens(t))
    return out


def unmatched_words(question: str, passages: Iterable[str], doc_freq: Callable[[str], int],
                    max_df: int, names: Iterable[str] = ()) -> list[str]:  # fmt: skip
    """The question's informative words that no passage holds (in any of its terms) and that
    at most `max_df` chunks of the corpus hold (0: the corpus never uses the word)."""
    held: set[str] = set()
    for p in passages:
        held |= set(tokens(p))
    out = []
    for w in informative_words(question, names):
        ts = word_terms(w)
        if ts & held:
            continue
        if max((doc_freq(t) for t in ts), default=0) <= max_df:
            out.append(w)
    return out
