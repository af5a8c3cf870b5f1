"""Answer types: a question that asks for a specific fact (an amount of money, a number, a
date, a person's name) is answered only when a passage holds a fact of that type near the
question's subject. And a question about a place that is not one of the region's
municipalities is not answered at all.

The cue words are ours, in Dutch and English. Both rules serve the "no answer" decision
(`Retriever.confident`); the nearest passages are still shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from index.lexical import STOPWORDS, tokens
from kb import novelty
from kb.text import sentences

# Question cues per answer type, checked in this order (the first that matches wins).
_ASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("person", (
        r"\bwho is (?:the|our|their)\b", r"\bname of (?:the|our|their) (?:\w+ ){0,2}"
        r"(?:lead|leader|manager|officer|alderman|mayor|director|contact|chair)",
        r"\bhoe heet (?:de|het|onze|hun)\b", r"\bwie is (?:de|onze|hun)\b",
        r"\bnaam van (?:de|het|onze|hun) (?:\w+ ){0,2}(?:leider|manager|wethouder|burgemeester|"
        r"directeur|contactpersoon|voorzitter|projectleider)",
    )),
    ("amount", (
        r"\bhow much (?:did|does|do|will|would|money|has|have|is|was|are)\b",
        r"\bwhat did .{1,60}\bcost\b",
        r"\bwhat (?:does|do|will|would) .{1,60}\bcost\b",
        r"\bhow much (?:\w+ ){0,4}(?:spend|spent|pay|paid|charge|save|invest)",
        r"\b(?:what|how \w+) (?:is|was|are|were) (?:the |its |their )?(?:\w+ ){0,3}"
        r"(?:budget|price|fine)s?\b",
        r"\b(?:a|the|maximum) (?:\w+ ){0,2}fines?\b", r"\bwhat did .{1,60}\b(?:charge|spend|pay)\b",
        r"\bhoeveel (?:geld|euro|kost|betaal|betaalt|betalen|besparen|bespaart|investeert|"
        r"subsidie)",
        r"\bwat (?:kost|kostte|kosten|betaalt|betaalde|rekende)\b", r"\bkostte\b",
        r"\b(?:wat|hoe groot|hoe hoog) (?:is|was|zijn|waren) (?:het|de) (?:\w+ ){0,3}"
        r"(?:budget|prijs|bedrag|boete|kosten)\b",
        r"\bwelk (?:budget|bedrag)\b", r"\bboete\b",
    )),
    ("date", (
        r"\bwhen (?:did|does|do|will|was|is|were|are)\b", r"\bwhat year\b", r"\bwhich year\b",
        r"\bsince when\b", r"\bwanneer\b", r"\bin welk jaar\b", r"\bsinds wanneer\b",
        r"\bwelke datum\b",
    )),
    ("number", (
        r"\bhow many\b", r"\bhow much\b", r"\bhoeveel\b", r"\bwhat (?:share|percentage|number)\b",
        r"\bwelk (?:percentage|aantal)\b", r"\bwhich article\b", r"\bwelk artikel\b",
    )),
)  # fmt: skip
_ASK_RE = tuple((t, tuple(re.compile(p) for p in ps)) for t, ps in _ASKS)

_MONEY = re.compile(
    r"(?:€|eur\b|euro)\s*\d|\d[\d.,]*\s*(?:€|euro|eur\b|mln|miljoen|million|billion|miljard|"
    r"thousand|duizend|k€)|\bper (?:address|adres|year|jaar)\b.{0,20}\d",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\b\d[\d.,]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"twelve|twenty|thirty|forty|fifty|hundred|half|een|twee|drie|vier|vijf|"
                     r"zes|zeven|acht|negen|tien|twaalf|twintig|dertig|veertig|vijftig|honderd)\b",
                     re.IGNORECASE)  # fmt: skip
_DATE = re.compile(r"\b(?:19|20)\d\d\b|\b(?:january|february|march|april|may|june|july|august|"
                   r"september|october|november|december|januari|februari|maart|mei|juni|juli|"
                   r"augustus|oktober|quarter|kwartaal)\b", re.IGNORECASE)  # fmt: skip
# A person's name as documents write it: an honorific or initials before a surname. The
# corpus names roles, never people, so this rarely matches: by design.
_PERSON = re.compile(r"\b(?:mr|mrs|ms|dr|dhr|mevr|prof|ir|drs)\.?\s+[A-Z][a-z]+|"
                     r"\b[A-Z]\.(?:\s?[A-Z]\.)*\s(?:(?:van|de|der|den)\s)*[A-Z][a-z]{2,}")  # fmt: skip
FACTS = {"amount": _MONEY, "number": _NUMBER, "date": _DATE, "person": _PERSON}

# Words that state the type of fact asked for, not its subject.
_TYPE_WORDS = frozenset(
    """budget budgets cost costs costed spend spent price prices fine fines
    amount money euro euros pay paid charge charged annual annually year yearly years average
    name named contact lead leader date when many much number total
    kost kosten kostte kostten uitgeven uitgegeven prijs boete bedrag geld betaalt betaalde
    betalen jaarlijks jaar jaren gemiddeld naam heet datum aantal totaal""".split()
)

# Place cues: a capitalised name after these words is a place the question is about.
_PLACE = re.compile(
    r"(?:\b(?:in|van|uit|te|gemeente|municipality of|city of|town of|from|does|did|do|has|"
    r"betaalt|betaalde|heeft|doet|spend|spends|pays)\s+)"
    r"((?:[A-Z][\w'-]+)"
    r"(?:\s+(?:aan|den|de|der|op|upon|on|an)(?:\s+(?:den|de|der))?\s+[A-Z][\w'-]+)?)"
    r"|\b([A-Z][\w-]+)'s\b"
)


def asked_type(question: str) -> str | None:
    """The type of fact a question asks for: 'person', 'amount', 'date', 'number' or None."""
    text = question.lower()
    for t, patterns in _ASK_RE:
        if any(p.search(text) for p in patterns):
            return t
    return None


def subject_words(question: str, names: Iterable[str] = ()) -> list[str]:
    """The question's informative words without those that name the type of fact."""
    return [w for w in novelty.informative_words(question, names) if w not in _TYPE_WORDS]


def fact_near_subject(kind: str, text: str, subject: list[str], min_share: float,
                      window: int = 1, extra: str = "") -> bool:  # fmt: skip
    """Does `text` hold a fact of type `kind` within `window` sentences of at least
    `min_share` of the subject's words (in either language)? `extra` is record data
    (a project's budget or start year) that counts as a fact of the whole text."""
    pattern = FACTS.get(kind)
    if pattern is None:
        return True
    parts = sentences(text) or [text]
    subject_terms = [novelty.word_terms(w) for w in subject]

    def share(chunk: str) -> float:
        if not subject_terms:
            return 1.0
        held = set(tokens(chunk))
        return sum(1 for ts in subject_terms if ts & held) / len(subject_terms)

    if extra and pattern.search(extra) and share(text) >= min_share:
        return True
    for i, s in enumerate(parts):
        if pattern.search(s):
            around = " ".join(parts[max(0, i - window) : i + window + 1])
            if share(around) >= min_share:
                return True
    return False


def unknown_places(question: str, known: Iterable[str], doc_freq: Callable[[str], int],
                   max_df: int) -> list[str]:  # fmt: skip
    """Capitalised names in a place position ("in Dordrecht", "Utrecht's", "does Delft")
    that are none of the `known` places and that at most `max_df` chunks mention."""
    known_words = {w for n in known for w in re.findall(r"[^\W_]+", n.lower())}
    out = []
    for m in _PLACE.finditer(question):
        name = m.group(1) or m.group(2)
        if not name:
            continue
        words = re.findall(r"[^\W_]+", name.lower())
        head = words[0]
        if (
            head in known_words
            or head in novelty.FUNCTION_WORDS
            or head in STOPWORDS
            or len(head) < 3
        ):
            continue
        if name.isupper():  # an acronym (AVG, NIS2, SOC): a topic, not a place
            continue
        if max((doc_freq(t) for t in tokens(head)), default=0) <= max_df:
            out.append(name)
    return out
