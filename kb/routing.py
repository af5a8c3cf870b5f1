"""Routing a question to the guide's structure: which facet of a building block it asks for
(what to do, why, what goes wrong, how to measure, which questions to ask ourselves), and
whether it is a guide question at all (no municipality named, not "which municipalities").

The guide gives every building block the same sections (`## Block {#id}` then `### Purpose`,
`### Why it matters ...`, `### Action perspectives`, `### Questions to ask yourself`,
`### Pitfalls`, `### Indicators to monitor`); a chunk's heading path ("5. Foundations >
Data management > Pitfalls") names its block and facet. The cue words below are ours, in
Dutch and English, written from how people ask, not from the evaluation questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.facets import facet_of_question

# Facet -> words that open the heading of its section in the guide (lower case).
FACET_HEADINGS: dict[str, tuple[str, ...]] = {
    "purpose": ("purpose",),
    "why": ("why it matters",),
    "action": ("action perspectives",),
    "questions": ("questions to ask",),
    "pitfalls": ("pitfalls",),
    "indicators": ("indicators",),
}

# Cues per facet (regular expressions over the lower-cased question). A question may cue
# several facets; each cue found counts once.
_CUES: dict[str, tuple[str, ...]] = {
    "action": (
        r"\bwhat (?:should|must|can|do) (?:we|i|a municipality|the municipality)\b",
        r"\bwhat (?:steps|actions|measures)\b", r"\bwhich steps\b", r"\bhow (?:do|can|should) we\b",
        r"\bwhere (?:do|should|can) we (?:start|begin)\b", r"\bfirst steps?\b",
        r"\b(?:in advance|beforehand|up front|upfront|before we)\b",
        r"\bhow to (?:start|begin|set up|organi[sz]e|arrange|approach)\b",
        r"\bwhat (?:to|do we) (?:do|arrange|organi[sz]e)\b", r"\bget started\b",
        r"\bset (?:it|this) up\b",
        r"\bwat (?:moeten|kunnen|zouden|gaan) (?:we|wij|jullie|ik)\b",
        r"\bwat (?:doen|regelen) we\b",
        r"\bwelke stappen\b", r"\bwaar (?:beginnen|starten) we\b",
        r"\bhoe (?:pakken|beginnen|starten|regelen|organiseren|richten|zetten|kunnen|moeten) "
        r"(?:we|wij|je)\b",
        r"\bvooraf\b", r"\bvan tevoren\b", r"\bals eerste\b", r"\beerste stap", r"\bregelen\b",
        r"\baanpak\b", r"\bhandelingsperspectie", r"\baan de slag\b", r"\bwat is verstandig\b",
    ),
    "why": (
        r"\bwhy\b", r"\bwhat is the (?:point|use|argument|case)\b", r"\bwhy bother\b",
        r"\bwhat(?:'s| is) in it for\b", r"\bwhy (?:does|would|should) it matter\b",
        r"\bwaarom\b", r"\bwat (?:is het nut|levert het op|heb(?:ben)? we eraan)\b",
        r"\bwaarvoor\b",
        r"\bbelang(?:rijk)?\b", r"\bzin van\b", r"\bnut\b",
    ),
    "pitfalls": (
        r"\bgo(?:es|ing)? wrong\b", r"\bpitfalls?\b", r"\brisks?\b", r"\bmistakes?\b",
        r"\btraps?\b", r"\bfail(?:s|ed|ing|ure)?\b", r"\bavoid\b", r"\bwatch out\b",
        r"\bstuck\b", r"\bstall(?:s|ed)?\b", r"\bfall apart\b", r"\bproblems?\b",
        r"\bvalkuil", r"\brisico", r"\bmis\b", r"\bfout(?:en)?\b",
        r"\bvast(?:lopen|lopen|gelopen| lopen)\b",
        r"\blopen\b.{0,60}\bvast\b", r"\bloopt\b.{0,60}\bvast\b", r"\bmislukken\b",
        r"\bmislukt\b", r"\bvoorkomen\b",
        r"\bopletten\b",
        r"\bverkeerd\b", r"\bproblemen\b", r"\bprobleem\b",
    ),
    "indicators": (
        r"\bmeasur", r"\bkpis?\b", r"\bindicators?\b", r"\bmetrics?\b", r"\bmonitor",
        r"\btrack (?:progress|whether|how)\b", r"\bhow do we know (?:whether|if)\b",
        r"\bsucce(?:ss|eded)\b",
        r"\bmeten\b", r"\bmeet(?:baar)?\b", r"\bkpi'?s\b", r"\bindicatoren\b", r"\bvolgen\b",
        r"\bmonitoren\b", r"\bgraadmeter", r"\bhoe we(?:et|ten) (?:we|je|jullie)\b",
        r"\bsucces\b", r"\bvoortgang\b", r"\bfigures\b", r"\b(?:what|which) numbers\b",
        r"\bcijfers\b",
    ),
    "questions": (
        r"\bquestions? (?:to ask|should we ask|we should ask)\b", r"\bask ourselves\b",
        r"\bask (?:our|us)selves\b", r"\bquestions? .{0,30}(?:ourselves|ask)\b",
        r"\bvragen .{0,30}(?:onszelf|stellen)\b", r"\bonszelf\b", r"\bzelf .{0,10}afvragen\b",
        r"\bwelke vragen\b",
    ),
    "purpose": (
        r"\bwhat (?:is|does|do) (?:a |an |the )?[\w\- ]{0,40}"
        r"(?:mean|cover|include|entail|involve)\b",
        r"\bwhat is meant by\b", r"\bdefin", r"\bwat (?:is|houdt|omvat|betekent)\b",
        r"\bwat valt (?:er )?onder\b", r"\bwat verstaan\b",
    ),
}
_COMPILED = {f: tuple(re.compile(p) for p in ps) for f, ps in _CUES.items()}
# kb/facets.py's facet ids as named here ("projects" is no section the search can favour).
_FROM_COMPOSER = {f: f for f in FACET_HEADINGS} | {"actions": "action"}

# Questions about who does what in the region, or about a project: not routed to the guide.
_NOT_GUIDE = tuple(re.compile(p) for p in (
    r"\bwhich (?:municipalit|cit|town|project|places?)", r"\bwhat (?:municipalit|project)",
    r"\bwho (?:else )?(?:in the region|already|else|has|is doing|does|runs|built)\b",
    r"\bany (?:municipalit|projects?)\b", r"\b(?:other|neighbouring) municipalities\b",
    r"\bwelke (?:gemeente|stad|steden|projecten|project)",
    r"\bwie (?:in de regio|anders|heeft|doet|werkt|is er)\b",
    r"\bandere gemeenten\b", r"\bergens in de regio\b", r"\bin de regio\b.{0,40}\b(?:al|ook)\b",
    r"\bvergelijkba", r"\bcomparable\b", r"\bsimilar\b", r"\bexamples? (?:of|from)\b",
    r"\bvoorbeeld", r"\bproject\b", r"\bpilot\b", r"\b(?:has|is|did|does|do) (?:anyone|anybody)\b",
    r"\banyone (?:else|in the region)\b",
    r"\bany (?:city|town|municipality)\b",
    r"\bone of the (?:\w+ )?(?:cities|towns|municipalities)\b",
    r"\bi (?:heard|read)\b", r"\biemand\b", r"\bergens\b",
    r"\bwaar in de regio\b", r"\bzijn er (?:al )?(?:gemeenten|projecten|steden)\b",
    r"\bik (?:hoorde|las)\b",
    r"\been van de (?:\w+ )?(?:gemeenten|steden)\b", r"\bwat (?:hebben|doen|deden) ze\b",
    r"\bwhat (?:have|did|do) they\b",
))  # fmt: skip


def facets(question: str) -> dict[str, int]:
    """The facets a question asks for, each with its number of cues (none: {})."""
    text = question.lower()
    out: dict[str, int] = {}
    for facet, patterns in _COMPILED.items():
        n = sum(1 for p in patterns if p.search(text))
        if n:
            out[facet] = n
    # The composer's choice (kb/facets.py) is asked for too: a cue added there reaches the
    # search, and the section the answer will quote is among those the search favours.
    best = facet_of_question(question)
    if best in _FROM_COMPOSER:
        facet = _FROM_COMPOSER[best]
        out[facet] = out.get(facet, 0) + 1
    return out


def facet_of_section(section: str | None) -> str | None:
    """The facet of a guide chunk's section ("... > Pitfalls" -> "pitfalls"), else None."""
    if not section:
        return None
    last = section.rsplit(">", 1)[-1].strip().lower()
    for facet, heads in FACET_HEADINGS.items():
        if last.startswith(heads):
            return facet
    return None


def names_municipality(question: str, names: Iterable[str]) -> bool:
    """Does the question name one of these places (whole words, any case)?"""
    text = f" {question.lower()} "
    # up to four letters more: "Schiedammers", "Delftse", "Rotterdamse"
    return any(re.search(rf"(?<![\w-]){re.escape(n.lower())}\w{{0,4}}(?![\w-])", text)
               for n in names if n)  # fmt: skip


def guide_like(question: str, place_names: Iterable[str] = ()) -> bool:
    """Is the question one for the guide's advice: it names no municipality and does not
    ask which municipalities or projects do something, nor about a strategy document?"""
    text = question.lower()
    if names_municipality(text, place_names):
        return False
    return not any(p.search(text) for p in _NOT_GUIDE)


def block_named(text: str, catalogue: dict[str, dict]) -> str | None:
    """The building block a text names by its id or name ('datamanagement', 'open data'),
    the longest name first; None if it names none."""
    low = text.lower()
    squeezed = re.sub(r"[\s-]+", "", low)
    forms = []
    for bid, b in catalogue.items():
        name = str(b.get("name", "")).lower()
        first = re.split(r"\s+(?:and|en)\s+|,", name)[0]  # 'open data and data sharing'
        singular = [f[:-1] for f in (bid.replace("-", " "), name) if f.endswith("s")]
        for form in {bid.replace("-", " "), name, first, *singular}:
            if len(form) >= 4:
                forms.append((len(form), form, bid))
    for _, form, bid in sorted(forms, reverse=True):
        if (
            re.search(r"\b" + re.escape(form) + r"\b", low)
            or form.replace(" ", "") in squeezed.split()
        ):
            return bid
        if len(form.replace(" ", "")) >= 8 and form.replace(" ", "") in squeezed:
            return bid
    return None
