"""Follow-up questions resolved against the previous turn, without a language model.

"En in Delft?", "what about Schiedam?", "hoe meten ze dat?", "welke projecten horen
daarbij?" or a bare "alleen projecten" lean on the turn before. A question with a topic of
its own stays as it is. The resolved question is what is searched, and is shown to the user
("Ik zocht naar: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.glossary import glossary
from kb.compose import answer_language
from kb.facets import BY_ID, cue_matches, facet_of_question
from kb.routing import block_named

# Words that carry no topic of their own: question words, pronouns that point back,
# auxiliaries and light verbs, articles and prepositions, in both languages.
_EMPTY = frozenset(
    """a an and are as at be by can could do does did for from has have how i in is it its of on
    or our that the their them they this these those to was we what when where which who why
    will with would you your about also only just then there here so any some more else
    go goes going went happen happens get gets done doing belong belongs fit fits
    relate related relates tell me us show give
    de het een en van in is op te dat die voor met zijn aan er als bij ook om maar dan naar
    nog wat wie waar hoe welke kan worden wordt door over tot uit of niet deze dit ze we wij
    onze hun haar heeft hebben zich je u mijn daar daarbij daarvoor daarmee daarover daarin
    daarvan ervan erbij ermee erover hierbij hiervan hiermee hierover zo dus nu alleen enkel
    horen hoort gaan gaat doen doet zit zitten komt komen krijgen staat staan moet moeten
    kunnen kun zullen zal vertel laat zien geef gebeurt gebeurd eigenlijk dan
    should must shall might may need needs improve make use set up start begin handle deal work
    run best good first
    verbeteren maken gebruiken zetten starten beginnen pakken aanpakken zorgen goed eerst
    often usually really actually typically want wants say says said it's that's what's there's
    vaak meestal precies echt willen wil wilt zegt zeggen zei
    other others another like similar anderen andere ander vergelijkbare soortgelijke zulke
    municipality municipalities region regional gemeente gemeenten regio regionale
    we're we've i'm they're you're nobody one ones ourselves onszelf stellen before voordat
    bouwsteen bouwstenen block blocks bedoeling werken werkt works working""".split()
)
# Pronouns that often point at nothing: "het" is above all the Dutch article ("wat is het
# doel van open data?") and never makes a question with words of its own a follow-up; "it"
# is often a dummy subject ("why does it matter to have a data catalogue?") and does so
# only with one word of its own ("what did they learn from it?").
_ARTICLE = frozenset({"het"})
_DUMMY = frozenset({"it", "its"})
# "the lorry parking one": English 'one' after a noun phrase points at an item of the last answer
_ONE = re.compile(r"\bthe(?:\s+[^\W\d_]+){1,3}\s+ones?\b", re.IGNORECASE)
# A follow-up with words of its own is short: "hoe gaan ze daarbij om met privacy?"
_SHORT = 9
# A pronoun that points back at the previous topic.
_POINTERS = re.compile(
    r"\b(dat|dit|daar\w*|er(?:van|bij|mee|over|voor|aan|in|op|uit)|hier(?:bij|van|mee|over|voor|aan)|"
    r"het|ze|zij|hun|"
    r"it|that|this|they|them|those|these|its|their)\b",
    re.IGNORECASE,
)
_KIND_WORDS = {
    "project": re.compile(r"\b(projecten|projects?|project)\b", re.IGNORECASE),
    "strategy": re.compile(r"\b(strategie(?:ën|en)?|strateg(?:y|ies)|beleid)\b", re.IGNORECASE),
    "guide": re.compile(r"\b(handreiking|guide)\b", re.IGNORECASE),
}
_ONLY = re.compile(r"\b(alleen|enkel|only|just)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation, as the caller keeps it."""

    question: str
    resolved: str | None = None  # what was searched; the question when not a follow-up
    answer_blocks: tuple[str, ...] = ()  # building-block ids of the answer, best first
    answer_projects: tuple[str, ...] = ()
    municipality: str | None = None  # the filters of that turn, if any
    kind: str | None = None
    building_block: str | None = None

    @property
    def searched(self) -> str:
        return self.resolved or self.question

    @classmethod
    def from_dict(cls, d: dict) -> Turn:
        """A turn from the JSON an API or UI keeps (unknown keys are ignored)."""
        return cls(
            question=str(d.get("question", "")),
            resolved=d.get("resolved") or None,
            answer_blocks=tuple(d.get("answer_blocks") or ()),
            answer_projects=tuple(d.get("answer_projects") or ()),
            municipality=d.get("municipality") or None,
            kind=d.get("kind") or None,
            building_block=d.get("building_block") or None,
        )


@dataclass(frozen=True)
class Resolved:
    question: str  # the question to search
    changed: bool  # True when it was rewritten from the previous turn
    reason: str = ""  # 'municipality', 'facet', 'projects', 'filter' or '' (standalone)
    municipality: str | None = None  # a municipality filter the follow-up asks for (an id)
    kind: str | None = None  # a kind filter ('project', 'strategy', 'guide')
    building_block: str | None = None  # the previous turn's block, for "which projects..."
    facet: str | None = None
    # The block the conversation is about, to fetch its guide section for a new facet
    # (`kb.compose.wanted_section(..., block=...)`); not a filter.
    topic_block: str | None = None


def searched_for(resolved: Resolved, lang: str) -> str:
    """The line that shows what was searched: 'Ik zocht naar: ...' / 'I searched for: ...'."""
    return ("Ik zocht naar: " if lang == "nl" else "I searched for: ") + resolved.question


def _municipality_forms(municipalities) -> list[tuple[str, str]]:
    """(lower-case form, id) by which a question names a municipality: its name, its id,
    and the first word of a longer name when no other name shares it ("Capelle",
    "Leidschendam"), longest first."""
    forms: list[tuple[str, str]] = []
    firsts: dict[str, set[str]] = {}
    for m in municipalities or []:
        mid, name = str(m.get("id", "")), str(m.get("name", "")).lower()
        if not mid or mid == "regional":
            continue
        forms += [(f, mid) for f in {name, mid.replace("-", " "), mid} if f]
        first = re.split(r"[\s-]+", name)[0]
        if first != name and len(first) >= 5:
            firsts.setdefault(first, set()).add(mid)
    forms += [(f, next(iter(ids))) for f, ids in firsts.items() if len(ids) == 1]
    return sorted(forms, key=lambda t: -len(t[0]))


def _municipality_hits(text: str, municipalities) -> list[tuple[int, int, str]]:
    """(start, end, id) of every municipality a text names, in order of appearance."""
    low, hits = text.lower(), []
    for form, mid in _municipality_forms(municipalities):
        for m in re.finditer(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", low):
            if not any(s < m.end() and m.start() < e for s, e, _ in hits):
                hits.append((m.start(), m.end(), mid))
    return sorted(hits)


def municipalities_named(text: str, municipalities) -> list[str]:
    """Ids of the municipalities a text names, also by a short name ("And Capelle?")."""
    out: list[str] = []
    for _, _, mid in _municipality_hits(text, municipalities):
        if mid not in out:
            out.append(mid)
    return out


def _content_words(text: str, municipalities) -> list[str]:
    """The words of a text that name a topic: not empty words, facet cues or municipalities."""
    low = text.lower()
    spans = [(s, e) for _, s, e, _ in cue_matches(low, None)]
    spans += [(m.start(), m.end()) for rx in _KIND_WORDS.values() for m in rx.finditer(low)]
    spans += [(s, e) for s, e, _ in _municipality_hits(low, municipalities)]
    out = []
    for m in _WORD.finditer(low):
        if any(s <= m.start() < e for s, e in spans):
            continue
        if m.group(0) in _EMPTY or len(m.group(0)) < 2 or _POINTERS.fullmatch(m.group(0)):
            continue
        out.append(m.group(0))
    return out


def topic_of(text: str, municipalities) -> str:
    """The topic words of a question in their own order: 'wat moeten we regelen voor
    datamanagement in Delft?' -> 'datamanagement'."""
    words = [
        w for w in _WORD.findall(text) if w.lower() in set(_content_words(text, municipalities))
    ]
    return " ".join(words)


def topic_block(topic: str, answer_blocks, catalogue: dict[str, dict]) -> str | None:
    """The building block a conversation's topic is about: the one the topic names (also
    in its English rendering: 'zorg en welzijn' -> care and wellbeing), else the first block
    of the last answer that shares a word with the topic ('algoritme' -> Transparency of
    algorithms), else the last answer's first block. A block named only in the English
    rendering counts when the last answer has it."""
    english = (glossary().to_english(topic) or "") if topic else ""
    named = block_named(topic, catalogue) if topic else None
    if named:
        return named
    # a word-for-word rendering is looser ("geldzorgen" -> "money care"): one of the answer's
    named = block_named(english, catalogue) if english else None
    if named in answer_blocks:
        return named
    # words of a block's name that no other block's name has ("digital" is in five)
    names = {b: set(_WORD.findall(str(v.get("name", "")).lower())) for b, v in catalogue.items()}
    seen: dict[str, int] = {}
    for ws in names.values():
        for w in ws:
            seen[w] = seen.get(w, 0) + 1
    said = {w[:6] for w in _WORD.findall(f"{topic} {english}".lower()) if len(w) >= 5}
    for b in answer_blocks:
        if any(w[:6] in said for w in names.get(b, ()) if len(w) >= 5 and seen[w] == 1):
            return b
    return answer_blocks[0] if answer_blocks else None


def _name(mid: str, municipalities) -> str:
    for m in municipalities or []:
        if m.get("id") == mid:
            return str(m.get("name", mid))
    return mid.replace("-", " ").title()


def _replace_municipality(text: str, old: list[str], new_name: str, municipalities) -> str:
    """The previous question with its municipality replaced by (or extended with) a new one."""
    for start, end, mid in _municipality_hits(text, municipalities):
        if mid in old:
            return text[:start] + new_name + text[end:]
    base = text.rstrip(" ?.!")
    return f"{base} in {new_name}?"


def _points_back(question: str, own_words: int) -> bool:
    """Does the question point back with a pronoun ('dat', 'daarbij', 'they', 'the X one';
    'it' only when the question has at most one word of its own)?"""
    weak = _ARTICLE | (_DUMMY if own_words > 1 else frozenset())
    pointers = [m.group(0).lower() for m in _POINTERS.finditer(question)]
    return any(p not in weak for p in pointers) or bool(_ONE.search(question))


_OTHERS = re.compile(r"\b(others?|another|elsewhere|andere[n]?|elders|ergens anders)\b", re.I)
_ACROSS = re.compile(
    r"\b(welke gemeenten|which municipalities|wie|who|others?|andere[n]?|elders|elsewhere|"
    r"in de regio|in the region)\b",
    re.I,
)
_OPENER = re.compile(r"^\s*(en|and|ook|also|what about|how about|en hoe|and how)\b", re.I)


def resolve_followup(
    question: str, history: list[Turn], municipalities, catalogue: dict[str, dict]
) -> Resolved:
    """The question to search, resolved against the last turn when it leans on it.

    A question leans on the last turn when it has no topic words of its own ("En in Delft?",
    "hoe meten we dat?", "and the pitfalls?"), or when it is short, points back (a pronoun,
    "en ...", "what about ...") and adds at most two words that name no building block
    ("hoe gaan ze daarbij om met privacy?", "what did they learn from it?").

    Args:
        history: earlier turns, oldest first (only the last one is used).
        municipalities: `[{"id": ..., "name": ...}]`.
        catalogue: building blocks by id, `{"name": ..., "stage": ...}`.
    """
    q = " ".join(question.split())
    if not history or not q:
        return Resolved(q, False)
    prev = history[-1]
    lang = answer_language(q, None)
    content = _content_words(q, municipalities)
    named = municipalities_named(q, municipalities)
    facet = facet_of_question(q, None)
    kind = next((k for k, rx in _KIND_WORDS.items() if rx.search(q)), None)
    only = bool(_ONLY.search(q))
    opener = bool(_OPENER.match(q))
    points_back = bool(_POINTERS.search(q))
    pronoun = _points_back(q, len(content))
    leans = opener or pronoun
    short = len(_WORD.findall(q)) <= _SHORT
    # "en cybersecurity?" names a topic of its own; "hoe gaan ze daarbij om met privacy?"
    # names one as an aspect of the topic it points back at
    own_block = bool(block_named(q, catalogue)) and not pronoun
    if content and not (leans and short and len(content) <= 2 and not own_block):
        return Resolved(q, False)  # a topic of its own: a new question
    prev_text = prev.searched
    prev_munis = municipalities_named(prev_text, municipalities) or (
        [prev.municipality] if prev.municipality else []
    )
    topic = topic_of(prev_text, municipalities)
    if not topic and prev.answer_blocks:
        topic = catalogue.get(prev.answer_blocks[0], {}).get("name", "")
    answer_block = prev.answer_blocks[0] if prev.answer_blocks else None

    # "En in Delft?" / "what about Schiedam?" / "Delft" / "alleen Delft"
    if named and not content and (facet is None or facet == "purpose"):
        new = _name(named[0], municipalities)
        text = _replace_municipality(prev_text, prev_munis, new, municipalities)
        # the previous turn's other filters still hold ("which projects ..." -> "en in Delft?")
        # The guide is regional: its advice for the same block still belongs to the answer.
        # "welke projecten ...?" - "Schiedam?": Schiedam's projects
        kind = prev.kind or ("project" if _KIND_WORDS["project"].search(prev_text) else None)
        return Resolved(text, True, "municipality", municipality=named[0], kind=kind,
                        building_block=prev.building_block, topic_block=answer_block)  # fmt: skip

    # "welke projecten horen daarbij?" / "which projects go with that?"; the municipality of
    # the last turn still holds ("what does Westland do about ..." -> "which projects ...?")
    if facet == "projects" and (points_back or opener or not only):
        subject = catalogue.get(answer_block or "", {}).get("name") or topic
        # ... but "welke gemeenten doen dat al?" asks across the region
        across = _ACROSS.search(q)
        where = named[:1] or (prev_munis[:1] if len(prev_munis) == 1 and not across else [])
        place = f" in {_name(where[0], municipalities)}" if where else ""
        text = (
            f"Welke projecten horen bij {subject}{place}?"
            if lang == "nl"
            else f"Which projects go with {subject}{place}?"
        )
        return Resolved(text, True, "projects", municipality=where[0] if where else None,
                        kind="project", building_block=answer_block, facet="projects")  # fmt: skip

    # "alleen strategieën" / "only projects": the previous question, filtered
    if kind and (only or not facet):
        return Resolved(prev_text, True, "filter", municipality=prev.municipality, kind=kind)

    # "hoe meten ze dat?" / "what goes wrong with it?" / "en de valkuilen?": new facet, old
    # topic; "en de kosten?" / "hoe gaan ze daarbij om met privacy?": a new aspect of it;
    # "met welke buurgemeenten doet Leidschendam-Voorburg dat?": that, in one municipality
    facet_turn = bool(
        facet and (pronoun or points_back or opener or not content or len(q.split()) <= 6)
    )
    if topic and (facet_turn or leans):
        others = bool(_OTHERS.search(q))
        name = catalogue.get(answer_block or "", {}).get("name")
        if others and name and not block_named(topic, catalogue):
            # "others like it": like the last answer's item, i.e. of its building block
            topic = f"{topic} ({name})"
        text = _with_topic(q, topic, lang)
        if named or others or _ACROSS.search(q):
            pass  # its own municipality, or others than the last one ("others like it?")
        elif prev_munis and prev_munis[0] not in municipalities_named(text, municipalities):
            text = f"{text.rstrip(' ?.!')} in {_name(prev_munis[0], municipalities)}?"
        text = text[:1].upper() + text[1:]
        # the block the topic names beats the previous answer's best block
        block = topic_block(topic, prev.answer_blocks, catalogue)
        return Resolved(text, True, "facet" if facet_turn else "aspect", facet=facet,
                        municipality=named[0] if named else None, topic_block=block)  # fmt: skip
    return Resolved(q, False)


def _with_topic(question: str, topic: str, lang: str) -> str:
    """The follow-up with its pointer word replaced by the topic, or the topic added."""
    question = _OPENER.sub("", question).strip() or question
    one = _ONE.search(question)
    if one:  # "the lorry parking one" -> "the lorry parking <topic>"
        cut = one.end() - len(one.group(0).split()[-1])
        return question[:cut] + topic + question[one.end() :]
    # the last pointer: "hoe meten ze dat" points back with "dat", not "ze"
    m = ([None] + list(_POINTERS.finditer(question)))[-1]
    if m and m.group(0).lower() not in ("ze", "zij", "they", "hun", "their", "its"):
        word = m.group(0).lower()
        is_ = re.match(r"['’]s\b", question[m.end() :])
        if is_:  # "if it's working" -> "if open data is working"
            return question[: m.start()] + f"{topic} is" + question[m.end() + is_.end() :]
        if word.startswith(("daar", "er", "hier")) and len(word) > 4:
            prep = word.removeprefix("daar").removeprefix("hier").removeprefix("er")
            return question[: m.start()] + f"{prep} {topic}" + question[m.end() :]
        return question[: m.start()] + topic + question[m.end() :]
    base = question.rstrip(" ?.!")
    joint = "bij" if lang == "nl" else "for"
    return f"{base} {joint} {topic}?"


__all__ = [
    "BY_ID",
    "topic_block",
    "Resolved",
    "Turn",
    "municipalities_named",
    "resolve_followup",
    "searched_for",
    "topic_of",
]
