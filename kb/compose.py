"""A composed answer without a language model: a lead, the guide's advice for the block and
facet asked, what municipalities do, what strategies say; every sentence cited.

The connecting text and labels follow the question's language (Dutch or English); quoted
passages stay in their own language. The hits are numbered 1..n in the order given, the
same numbering as `kb.answer.make_sources`, so the caller passes the same list to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.store import DocumentRow, Hit
from kb.facets import BY_ID, block_name_of_section, facet_of_question, facet_of_section
from kb.text import sentences, terms

# The most bullet items taken from one guide section, projects and strategy quotes shown.
MAX_ITEMS = 5
MAX_PROJECTS = 3
MAX_QUOTES = 2
ITEM_CHARS = 260
QUOTE_CHARS = 240

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*)$")
_DUTCH_WORDS = frozenset(
    "de het een en van is zijn wat hoe welke waarom wie waar moeten kunnen we onze gemeente "
    "gemeenten bij voor met daarbij daar er ook niet dat dit ze".split()
)

TEXT = {
    "nl": {
        "lead": "In de bronnen vond ik hierover {parts}.",
        "lead_guide": "advies uit de handreiking (bouwsteen {block}) {cites}",
        "lead_guide_plain": "een passage uit de handreiking ({section}) {cites}",
        "lead_projects_1": "een project ({munis}) {cites}",
        "lead_projects": "{k} projecten ({munis}) {cites}",
        "lead_docs_1": "een passage uit {title} {cites}",
        "lead_docs": "{k} passages uit strategieën ({titles}) {cites}",
        "and": "en",
        "guide_advises": "Wat de handreiking adviseert (bouwsteen {block}, {facet}):",
        "guide_says": "Wat de handreiking zegt (bouwsteen {block}, {facet}):",
        "guide_section": "Wat de handreiking zegt ({section}):",
        "projects": "Wat gemeenten in de regio doen:",
        "docs": "Wat strategieën zeggen:",
        "docs_other": "Wat de documenten zeggen:",
        "page": "p.",
        "not_found": "Niet gevonden:",
        "miss_facet": "de {facet} van deze bouwsteen zaten niet bij de gevonden passages.",
        "miss_muni": "geen van de bronnen komt uit {name}; wat hieronder staat komt van elders.",
        "miss_projects": "projecten hierover vond ik niet.",
        "miss_docs": "geen passage uit een gemeentelijke strategie ging hierover.",
        "no_answer": "De kennisbank heeft geen betrouwbaar antwoord op deze vraag.",
        "nearest": "Het dichtst in de buurt komen: {items}.",
        "regional": "regionaal",
    },
    "en": {
        "lead": "The sources hold {parts}.",
        "lead_guide": "advice from the guide (building block {block}) {cites}",
        "lead_guide_plain": "a passage from the guide ({section}) {cites}",
        "lead_projects_1": "one project ({munis}) {cites}",
        "lead_projects": "{k} projects ({munis}) {cites}",
        "lead_docs_1": "a passage from {title} {cites}",
        "lead_docs": "{k} passages from strategies ({titles}) {cites}",
        "and": "and",
        "guide_advises": "What the guide advises (building block {block}, {facet}):",
        "guide_says": "What the guide says (building block {block}, {facet}):",
        "guide_section": "What the guide says ({section}):",
        "projects": "What municipalities in the region do:",
        "docs": "What the strategies say:",
        "docs_other": "What the documents say:",
        "page": "p.",
        "not_found": "Not found:",
        "miss_facet": "the {facet} of this building block were not among the passages found.",
        "miss_muni": "none of the sources is from {name}; what follows is from elsewhere.",
        "miss_projects": "I found no projects on this.",
        "miss_docs": "no passage from a municipal strategy was about this.",
        "no_answer": "The knowledge base has no confident answer to this question.",
        "nearest": "The nearest passages are: {items}.",
        "regional": "regional",
    },
}


@dataclass(frozen=True)
class Cited:
    """One sentence or list item of an answer and the source numbers it cites."""

    text: str
    cites: tuple[int, ...]


@dataclass(frozen=True)
class Composed:
    text: str  # Markdown
    sentences: list[Cited] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    language: str = "en"
    facet: str | None = None  # the facet the question asked for
    block: str | None = None  # the building block whose advice is shown


def answer_language(question: str, detected: str | None) -> str:
    """'nl' or 'en' for the answer's own words: the detected language, or for a question
    too short to detect ("En in Delft?") a count of common Dutch words."""
    if detected in ("nl", "en"):
        return detected
    words = re.findall(r"[^\W_]+", question.lower())
    return "nl" if sum(w in _DUTCH_WORDS for w in words) >= max(1, len(words) // 3) else "en"


def _cites(ns: list[int] | tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in ns)


def _join(parts: list[str], word: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _municipality_names(municipalities) -> dict[str, str]:
    """{id: name} from a list of {"id", "name"} dicts or a ready mapping."""
    if isinstance(municipalities, dict):
        return {str(k): str(v) for k, v in municipalities.items()}
    return {str(m["id"]): str(m.get("name", m["id"])) for m in municipalities or [] if "id" in m}


def municipalities_in(text: str, municipalities) -> list[str]:
    """Ids of the municipalities a text names, by name or id, in order of appearance."""
    low = text.lower()
    found = []
    for mid, name in _municipality_names(municipalities).items():
        for form in {name.lower(), mid.replace("-", " "), mid}:
            m = re.search(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", low)
            if m and mid != "regional":
                found.append((m.start(), mid))
                break
    return [mid for _, mid in sorted(found)]


def list_items(text: str) -> list[str]:
    """The list items of a Markdown passage (an item's wrapped lines joined); [] if none."""
    items: list[str] = []
    for line in text.splitlines():
        m = _LIST_ITEM.match(line)
        if m:
            items.append(m.group(1).strip())
        elif items and line.strip() and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
    return items


def _short_item(item: str) -> str:
    """A list item cut to its bold title and first sentence ('**Start.** Describe ...')."""
    sents = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", item.strip())
    head = sents[0]
    if head.startswith("**") and head.endswith("**") and len(sents) > 1:
        head = f"{head} {sents[1]}"
    return _clip(head, ITEM_CHARS)


def wanted_section(
    question: str, lang: str | None, hits: list[Hit], block: str | None = None
) -> tuple[str, str] | None:
    """(building-block id, facet) of the guide section the answer needs and the hits lack:
    the question asks for a facet ("wat moeten we regelen" -> actions) of the block the
    hits are about, and no guide hit is that section. None when nothing is missing.

    Args:
        block: the block the conversation is about (`Resolved.topic_block` of a follow-up);
            else the block of the best guide hit.

    The caller fetches the block's guide chunks (filters kind='guide', building_block=id)
    and passes them to `with_section`.
    """
    asked = facet_of_question(question, lang)
    if asked is None or asked == "projects":
        return None
    guide = [h for h in hits if h.chunk.kind == "guide" and h.chunk.building_blocks]
    tagged = guide or [h for h in hits if h.chunk.building_blocks]
    if block is None and not tagged:
        return None
    block = block or tagged[0].chunk.building_blocks[0]
    for h in guide:
        if block in h.chunk.building_blocks and facet_of_section(h.chunk.section) == asked:
            return None
    return block, asked


def with_section(hits: list[Hit], candidates: list[Hit], block: str, facet: str) -> list[Hit]:
    """The hits with the first candidate that is the block's `facet` section put in place of
    the last guide hit of another facet (else the last hit), keeping the number of hits."""
    pick = next((c for c in candidates if block in c.chunk.building_blocks
                 and facet_of_section(c.chunk.section) == facet), None)  # fmt: skip
    if pick is None or any(h.chunk.id == pick.chunk.id for h in hits):
        return hits
    if not hits:
        return [pick]
    guide = [i for i, h in enumerate(hits) if h.chunk.kind == "guide"]
    out = list(hits)
    out[guide[-1] if guide else len(out) - 1] = pick
    # The section asked for is the guide's first: ahead of the other guide hits.
    out.remove(pick)
    first_guide = next((i for i, h in enumerate(out) if h.chunk.kind == "guide"), len(out))
    out.insert(min(first_guide, len(out)), pick)
    return out


def with_projects(hits: list[Hit], project_hits: list[Hit], want: int = MAX_PROJECTS) -> list[Hit]:
    """For a question that asks for projects: the hits with up to `want` distinct projects,
    taken from `project_hits` (a retrieval with kind='project') in place of the
    last-ranked hits that are neither guide nor project, keeping the number of hits."""
    have = {h.chunk.project_id for h in hits if h.chunk.project_id}
    extra = []
    for h in project_hits:
        pid = h.chunk.project_id
        if pid and pid not in have and len(have) < want:
            extra.append(h)
            have.add(pid)
    out = list(hits)
    for h in extra:
        spare = [i for i, x in enumerate(out) if x.chunk.kind != "guide" and not x.chunk.project_id]
        if not spare:
            break
        out[spare[-1]] = h
    return out


def _project_item(item: str, titles: dict[str, str] | None) -> str:
    """A "related projects" item, a bare `project-id`, as its title with the id."""
    m = re.fullmatch(r"`([a-z0-9-]+)`", item.strip())
    if not m:
        return item
    pid = m.group(1)
    return f"{titles[pid]} (`{pid}`)" if titles and pid in titles else f"`{pid}`"


def _prose(sentence: str) -> bool:
    words = sentence.split()
    return len(words) >= 5 and sum(any(c.isdigit() for c in w) for w in words) / len(words) < 0.2


def _best_sentences(question: str, lang: str, text: str, limit: int) -> list[str]:
    """The `limit` sentences of a passage sharing most words with the question, in text order."""
    q = terms(question)
    sents = sentences(text) or [" ".join(text.split())]
    # A chunk may start mid-sentence (a fragment starting in lower case) or hold a table
    # of contents (mostly numbers): poor quotes both.
    whole = [j for j, x in enumerate(sents) if not x[:1].islower() and _prose(x)]
    whole = whole or list(range(len(sents)))
    ranked = sorted(whole, key=lambda j: (-len(q & terms(sents[j])), j))[:limit]
    return [sents[j] for j in sorted(ranked)]


class _Builder:
    """Collects Markdown lines and the cited sentences behind them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cited: list[Cited] = []

    def para(self, text: str, cites: tuple[int, ...]) -> None:
        self.lines += [f"{text} {_cites(cites)}".rstrip(), ""]
        self.cited.append(Cited(text, cites))

    def heading(self, text: str) -> None:
        self.lines.append(text)

    def item(self, text: str, cites: tuple[int, ...]) -> None:
        self.lines.append(f"- {text} {_cites(cites)}")
        self.cited.append(Cited(text, cites))

    def end_list(self) -> None:
        self.lines.append("")

    def markdown(self) -> str:
        return "\n".join(self.lines).strip()


_Mark = tuple[int, tuple[int, int, int]]  # a section's best rank, where it began


def _in_rank_order(body: _Builder, lead_parts: list[str],
                   marks: list[_Mark]) -> tuple[_Builder, list[str]]:  # fmt: skip
    """The body's sections and the lead's parts reordered by each section's best source
    (`marks`: the best rank and the (lines, cited, lead parts) lengths where it began)."""
    ends = (len(body.lines), len(body.cited), len(lead_parts))
    bounds = [m for _, m in marks] + [ends]
    order = sorted(range(len(marks)), key=lambda i: marks[i][0])
    out = _Builder()
    leads: list[str] = []
    for i in order:
        (l0, c0, p0), (l1, c1, p1) = bounds[i], bounds[i + 1]
        out.lines += body.lines[l0:l1]
        out.cited += body.cited[c0:c1]
        leads += lead_parts[p0:p1]
    return out, leads


def compose_answer(
    question: str,
    lang: str | None,
    hits: list[Hit],
    docs: dict[str, DocumentRow],
    catalogue: dict[str, dict],
    municipalities,
    answered: bool = True,
    facet: str | None = None,
    project_titles: dict[str, str] | None = None,
) -> Composed:
    """A structured, cited answer from the numbered hits (1..n in the order given).

    Args:
        lang: the question's detected language; None falls back to `answer_language`.
        docs: the hits' documents by id (a hit whose document is missing is not cited).
        catalogue: building blocks by id, `{"name": ..., "stage": ...}`.
        municipalities: `[{"id": ..., "name": ...}]` (or an `{id: name}` mapping).
        answered: False when the caller found no confident answer: the honest "not found"
            naming the nearest passages.
        facet: the facet asked for when the caller already knows it.
        project_titles: project titles by id, to name the guide's "related projects".
    """
    lg = answer_language(question, lang)
    t = TEXT[lg]
    names = _municipality_names(municipalities)
    asked = facet or facet_of_question(question, lg)
    numbered = [(n, h) for n, h in enumerate(hits, start=1) if h.chunk.document_id in docs]
    if not answered or not numbered:
        return _no_answer(lg, numbered, docs, asked)

    def muni(mid: str | None) -> str:
        if not mid:
            return ""
        return t["regional"] if mid == "regional" else names.get(mid, mid.replace("-", " ").title())

    guide = [(n, h) for n, h in numbered if docs[h.chunk.document_id].kind == "guide"]
    projects: list[tuple[int, Hit]] = []
    seen: set[str] = set()
    for n, h in numbered:
        pid = h.chunk.project_id
        if pid and pid not in seen and len(projects) < MAX_PROJECTS:
            seen.add(pid)
            projects.append((n, h))
    others = [
        (n, h)
        for n, h in numbered
        if docs[h.chunk.document_id].kind != "guide" and not h.chunk.project_id
    ]
    others = others[:MAX_QUOTES]

    body = _Builder()
    lead_parts: list[str] = []
    missing: list[str] = []
    block_id: str | None = None

    # The sections (guide, projects, documents) are written in that order and then shown
    # in the order of their best source: the guide's advice leads when it is [1] (the
    # region's own); a project or a document that is [1] (a question about it) leads.
    marks: list[_Mark] = []

    def mark(best: int) -> None:
        marks.append((best, (len(body.lines), len(body.cited), len(lead_parts))))

    # -- the guide: the section of the facet asked for, else the best guide hit ------------
    mark(guide[0][0] if guide else len(numbered) + 1)
    if guide:
        asked_hits = [(n, h) for n, h in guide if facet_of_section(h.chunk.section) == asked]
        main = asked_hits[0] if asked and asked_hits else guide[0]
        section = main[1].chunk.section or ""
        shown_facet = facet_of_section(section)
        block_id = main[1].chunk.building_blocks[0] if main[1].chunk.building_blocks else None
        block = (
            catalogue.get(block_id or "", {}).get("name") or block_name_of_section(section) or ""
        )
        same = [(n, h) for n, h in guide if h.chunk.section == section]
        if shown_facet and block:
            key = "guide_advises" if shown_facet == "actions" else "guide_says"
            body.heading(t[key].format(block=block, facet=BY_ID[shown_facet].label(lg)))
            lead_parts.append(
                t["lead_guide"].format(block=block, cites=_cites([n for n, _ in same]))
            )
        else:
            last = section.rsplit(">", 1)[-1].strip() or docs[main[1].chunk.document_id].title
            body.heading(t["guide_section"].format(section=last))
            cites = _cites([n for n, _ in same])
            lead_parts.append(t["lead_guide_plain"].format(section=last, cites=cites))
        count = 0
        for n, h in same:
            items = [
                _short_item(_project_item(i, project_titles)) for i in list_items(h.chunk.text)
            ]
            if not items:
                items = [
                    _clip(s, ITEM_CHARS) for s in _best_sentences(question, lg, h.chunk.text, 3)
                ]
            for item in items[: MAX_ITEMS - count]:
                body.item(item, (n,))
                count += 1
        body.end_list()
        if asked and asked != "projects" and shown_facet != asked and block:
            missing.append(t["miss_facet"].format(facet=BY_ID[asked].label(lg)))

    # -- projects ---------------------------------------------------------------------------
    mark(projects[0][0] if projects else len(numbered) + 2)
    if projects:
        body.heading(t["projects"])
        for n, h in projects:
            d = docs[h.chunk.document_id]
            record = d.meta.get("project") or {}
            title = record.get("title") or d.title
            summary = record.get("summary") or (sentences(h.chunk.text) or [h.chunk.text])[0]
            where = muni(h.chunk.municipality or record.get("municipality"))
            label = f"**{title}** ({where})" if where else f"**{title}**"
            body.item(f"{label}: {_clip(summary, ITEM_CHARS)}", (n,))
        body.end_list()
        munis = list(
            dict.fromkeys(muni(h.chunk.municipality) for _, h in projects if h.chunk.municipality)
        )
        ns = [n for n, _ in projects]
        key = "lead_projects_1" if len(projects) == 1 else "lead_projects"
        lead_parts.append(
            t[key].format(k=len(projects), munis=", ".join(munis) or "-", cites=_cites(ns))
        )

    # -- strategies and other documents: a short quote with its page ------------------------
    # A document that is the best source of all (a question about it) is quoted at more
    # length.
    docs_first = bool(others) and others[0][0] == 1
    mark(others[0][0] if others else len(numbered) + 3)
    if others:
        kinds = {docs[h.chunk.document_id].kind for _, h in others}
        body.heading(t["docs"] if kinds == {"strategy"} else t["docs_other"])
        for n, h in others:
            d = docs[h.chunk.document_id]
            k = 2 if docs_first and n == 1 else 1
            quote = " ".join(_best_sentences(question, lg, h.chunk.text, k)).lstrip("-*•· ")
            quote = re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", quote)  # a section number
            quote = _clip(quote, QUOTE_CHARS * k)
            place = (
                f", {t['page']} {h.chunk.page}"
                if h.chunk.page is not None
                else (f", {h.chunk.section}" if h.chunk.section else "")
            )
            body.item(f"“{quote}” ({d.title}{place})", (n,))
        body.end_list()
        titles = [docs[h.chunk.document_id].title for _, h in others]
        ns = [n for n, _ in others]
        if len(others) == 1:
            lead_parts.append(t["lead_docs_1"].format(title=titles[0], cites=_cites(ns)))
        else:
            joined = "; ".join(dict.fromkeys(titles))
            lead_parts.append(t["lead_docs"].format(k=len(others), titles=joined, cites=_cites(ns)))
    body, lead_parts = _in_rank_order(body, lead_parts, marks)

    # -- what the question asked for and the sources do not hold ----------------------------
    found_munis = {h.chunk.municipality for _, h in numbered if h.chunk.municipality}
    for mid in municipalities_in(question, names):
        if mid not in found_munis:
            missing.append(t["miss_muni"].format(name=muni(mid)))
    guide_lists_projects = any(facet_of_section(h.chunk.section) == "projects" for _, h in guide)
    if asked == "projects" and not projects and not guide_lists_projects:
        missing.append(t["miss_projects"])
    if re.search(r"\bstrateg|\bbeleid|\bvisie\b|\bagenda\b", question.lower()) and not any(
        docs[h.chunk.document_id].kind == "strategy" for _, h in numbered
    ):
        missing.append(t["miss_docs"])

    lead_text = t["lead"].format(parts=_join([p.strip() for p in lead_parts], t["and"]))
    lead_cites = tuple(dict.fromkeys(int(x) for x in re.findall(r"\[(\d+)\]", lead_text)))
    lead_plain = re.sub(r"\s*\[\d+\]", "", lead_text)
    out = _Builder()
    out.lines.append(lead_text)
    out.lines.append("")
    out.cited.append(Cited(lead_plain, lead_cites))
    out.lines += body.lines
    out.cited += body.cited
    if missing:
        out.lines.append(f"**{t['not_found']}** " + " ".join(m[0].upper() + m[1:] for m in missing))
    return Composed(out.markdown(), out.cited, missing, lg, asked, block_id)


def _no_answer(
    lg: str, numbered: list[tuple[int, Hit]], docs: dict[str, DocumentRow], asked: str | None
) -> Composed:
    """The honest 'no answer', naming (without citing: they do not answer) the nearest passages."""
    t = TEXT[lg]
    near = []
    for _, h in numbered[:3]:
        d = docs[h.chunk.document_id]
        where = (
            f"{t['page']} {h.chunk.page}" if h.chunk.page is not None else (h.chunk.section or "")
        )
        near.append(f"{d.title} ({where})" if where and where != d.title else d.title)
    text = t["no_answer"]
    if near:
        text += " " + t["nearest"].format(items="; ".join(near))
    return Composed(text, [], [t["no_answer"]], lg, asked, None)
