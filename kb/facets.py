"""The guide's facets: the fixed sections under each building block, and the words with which
a question (Dutch or English) asks for one of them.

Every building block in `corpus/guide/*.md` has the same seven `###` sections. A question
like "what should we arrange in advance?" or "waar moeten we op letten?" asks for one of
them; answering it from another section ("why it matters") misses the point. The table
below is the only place that knows the headings and the cue words: retrieval routing and
the answer composer both read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Facet:
    id: str
    heading: str  # the `###` heading in the guide (English)
    label_nl: str
    label_en: str
    # Cue phrases, lower case. A trailing `*` matches any word ending ("risic*" -> risico's);
    # a `*` word stands for one or two words; a leading `~` marks a weak cue ("how do we"),
    # which counts only when no strong cue matches.
    cues_en: tuple[str, ...]
    cues_nl: tuple[str, ...]

    def label(self, lang: str | None) -> str:
        return self.label_nl if lang == "nl" else self.label_en


# fmt: off
FACETS: tuple[Facet, ...] = (
    Facet(
        "purpose", "Purpose", "doel", "purpose",
        ("~what is", "~what are", "what does * mean", "what is meant by", "define", "definition",
         "purpose", "meaning of", "explain"),
        ("~wat is", "~wat zijn", "wat houdt", "wat betekent", "wat verstaan", "definitie",
         "doel van", "wat bedoel*", "uitleg"),
    ),
    Facet(
        "why", "Why it matters to a municipality", "waarom het ertoe doet", "why it matters",
        ("why", "what does * bring", "what do we gain", "benefit*", "what is the point",
         "worth it", "~matter*", "~important", "added value", "value of"),
        ("waarom", "wat levert", "wat brengt", "opbrengst*", "voordeel", "voordelen", "~belang",
         "~belangrijk", "nut van", "meerwaarde", "zin van"),
    ),
    Facet(
        "actions", "Action perspectives", "handelingsperspectieven", "action perspectives",
        ("what should we do", "what can we do", "what must we do", "what do we need to do",
         "first step*", "where do we start", "where to start", "how to start", "how do we start",
         "how do we begin", "how to begin", "get started", "arrange", "in advance",
         "~how should we", "~how can we", "~how do we", "~how to", "steps", "approach",
         "recommend*", "advice", "advise", "action*", "organise", "organize", "set up",
         "implement"),
        ("wat moeten we", "wat moet je", "wat kunnen we", "wat kun je", "regelen", "regel",
         "hoe beginnen", "hoe begin", "hoe starten", "hoe pakken", "hoe pak", "aanpak*",
         "eerste stap*", "stappen", "waar beginnen", "waar begin", "~hoe kunnen we",
         "~hoe moeten we", "hoe zorgen", "advies", "adviseer*", "aanbevel*",
         "handelingsperspectie*", "organiseren", "inrichten", "opzetten", "vooraf"),
    ),
    Facet(
        "questions", "Questions to ask yourself", "vragen om jezelf te stellen",
        "questions to ask yourself",
        ("questions to ask", "questions should we ask", "ask ourselves", "ask yourself",
         "self- assessment", "self assessment", "checklist", "what to ask"),
        ("welke vragen", "vragen stellen", "onszelf afvragen", "jezelf afvragen", "zelf afvragen",
         "checklist", "zelftoets", "vragen om"),
    ),
    Facet(
        "pitfalls", "Pitfalls", "valkuilen", "pitfalls",
        ("what goes wrong", "what can go wrong", "go wrong", "goes wrong", "went wrong",
         "gone wrong", "going wrong", "risk*", "pitfall*",
         "mistake*", "avoid", "watch out", "look out for", "pay attention to", "be careful",
         "fail*", "trap*", "danger*", "problems"),
        # "mis" alone: "waar gaat het in de praktijk vaak mis?" puts words between "gaat" and
        # "mis"; in these questions it is never the noun (the church service).
        ("wat gaat er mis", "wat kan er mis", "mis gaan", "misgaan", "gaat mis", "mis",
         "misgelopen", "misloopt", "valkuil*", "risico*", "waar moeten we op letten",
         "waar letten", "op letten", "letten op", "vermijden", "voorkomen", "fout*", "gevaar*",
         "problemen", "probleem"),
    ),
    Facet(
        "indicators", "Indicators to monitor", "indicatoren om te volgen", "indicators to monitor",
        ("how do we measure", "how to measure", "measure*", "kpi*", "indicator*", "monitor*",
         "track progress", "how do we know", "how would we know", "how will we know",
         "how can we tell", "whether it works", "if it works",
         "if it's working", "if it is working", "is it working", "metric*", "evaluate success",
         "success look", "figures", "what numbers", "which numbers"),
        ("hoe meten", "meten", "meet", "kpi*", "indicator*", "monitoren", "monitor*", "voortgang",
         "hoe weten we", "hoe weten", "hoe weet je", "of het werkt", "werkt het", "succes meten",
         "graadmeter*", "cijfers"),
    ),
    Facet(
        "projects", "Related projects", "projecten", "projects",
        # "in practice" is weak: "what goes wrong in practice?" asks for the pitfalls
        ("project*", "example*", "which municipalities", "who is doing", "who does",
         "~in practice", "initiative*", "pilot*"),
        ("project*", "voorbeeld*", "welke gemeenten", "wie doet", "wie doen", "~in de praktijk",
         "initiatie*", "pilot*"),
    ),
)
# fmt: on

BY_ID: dict[str, Facet] = {f.id: f for f in FACETS}


def _pattern(cue: str) -> str:
    parts = []
    for word in cue.split():
        if word == "*":
            parts.append(r"\w+(?:\s+\w+){0,2}")  # "what does * mean": one to three words
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"\w*")
        else:
            parts.append(re.escape(word))
    return r"\b" + r"\s+".join(parts) + r"\b"


@lru_cache(maxsize=1)
def _compiled() -> dict[str, list[tuple[re.Pattern[str], str, bool]]]:
    out: dict[str, list[tuple[re.Pattern[str], str, bool]]] = {"nl": [], "en": []}
    for f in FACETS:
        for lang, cues in (("en", f.cues_en), ("nl", f.cues_nl)):
            for cue in cues:
                weak = cue.startswith("~")
                out[lang].append((re.compile(_pattern(cue.lstrip("~"))), f.id, weak))
    return out


def cue_matches(text: str, lang: str | None) -> list[tuple[str, int, int, bool]]:
    """(facet id, start, end, weak) of every cue phrase in the text; both languages when
    `lang` is neither 'nl' nor 'en'."""
    low = text.lower()
    langs = [lang] if lang in ("nl", "en") else ["nl", "en"]
    found = []
    for lg in langs:
        for pattern, fid, weak in _compiled()[lg]:
            for m in pattern.finditer(low):
                found.append((fid, m.start(), m.end(), weak))
    return found


def facet_of_question(text: str, lang: str | None = None) -> str | None:
    """The facet a question asks for ('actions', 'pitfalls', ...), or None.

    A strong cue beats a weak one, then the longest matching cue wins, so "how do we
    measure" (indicators) beats "how do we" (actions). Cues of both languages are tried
    when `lang` is not given, and also when the given language finds none (a Dutch
    question may be misdetected).
    """
    for langs in ([lang], [None]) if lang in ("nl", "en") else ([None],):
        best: tuple[bool, int, int, str] | None = None  # (strong, length, -start, facet)
        for fid, start, end, weak in cue_matches(text, langs[0]):
            cand = (not weak, end - start, -start, fid)
            if best is None or cand[:3] > best[:3]:
                best = cand
        if best is not None:
            return best[3]
    return None


def facet_of_section(section_path: str | None) -> str | None:
    """The facet of a guide section path such as '5. Foundations > Data management >
    Action perspectives', or None for a section that is not one of the seven."""
    if not section_path:
        return None
    last = section_path.rsplit(">", 1)[-1].strip().lower()
    for f in FACETS:
        head = f.heading.lower()
        if last == head or last.startswith(head) or head.startswith(last) and len(last) > 6:
            return f.id
    return None


def block_name_of_section(section_path: str | None) -> str | None:
    """The building block's heading in a facet section path ('Data management' above)."""
    if not section_path or facet_of_section(section_path) is None:
        return None
    parts = [p.strip() for p in section_path.split(">")]
    return parts[-2] if len(parts) >= 2 else None
