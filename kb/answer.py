"""Compose an extractive, cited answer from retrieved chunks: no language model involved."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.store import ChunkRow, DocumentRow, Hit
from kb.text import sentences, terms


@dataclass(frozen=True)
class Source:
    n: int
    document_id: str
    title: str
    source: str
    kind: str
    page: int | None
    section: str | None
    snippet: str
    score: float
    municipality: str | None = None
    project_id: str | None = None
    date: str | None = None  # the document's date ("2025", "2025-03-12"), when ingest found one
    ocr: bool = False  # the cited page was read by OCR (a scan)

    @property
    def where(self) -> str:
        if self.page is not None:
            return f"p. {self.page}"
        return self.section or ""


@dataclass(frozen=True)
class BlockRef:
    id: str
    name: str
    stage: str | None
    score: float


@dataclass(frozen=True)
class ProjectRef:
    id: str
    title: str
    municipality: str | None
    score: float
    summary: str = ""


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    answered: bool
    sources: list[Source] = field(default_factory=list)
    building_blocks: list[BlockRef] = field(default_factory=list)
    projects: list[ProjectRef] = field(default_factory=list)
    nearest_topics: list[str] = field(default_factory=list)
    # The question as searched when a follow-up was resolved ("Ik zocht naar: ...").
    resolved_question: str | None = None
    language: str | None = None  # of the answer's own words: 'nl' or 'en'
    missing: list[str] = field(default_factory=list)  # parts of the question not found
    # How the text was written: 'composed' (no model) or 'llm'; `note` says why a configured
    # language model was not used ("the language model did not answer within 30 s").
    written_by: str = "composed"
    note: str | None = None
    # What a follow-up needs of this turn (`kb.followup.Turn.from_dict`): pass the turns of
    # earlier answers back as `history`.
    turn: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        for s in d["sources"]:
            if s["page"] is None:
                del s["page"]
            if s["section"] is None:
                del s["section"]
            if s["date"] is None:
                del s["date"]
        return d


def select_diverse(hits: list[Hit], k: int, per_document: int = 2) -> list[Hit]:
    """Best hits, at most one per page or section and `per_document` per document, so that
    several chunks of one page do not crowd out other documents."""
    chosen: list[Hit] = []
    places: set[tuple[str, object]] = set()
    per_doc: dict[str, int] = {}
    for hit in hits:
        chunk = hit.chunk
        place = (chunk.document_id, chunk.page if chunk.page is not None else chunk.section)
        if place in places or per_doc.get(chunk.document_id, 0) >= per_document:
            continue
        places.add(place)
        per_doc[chunk.document_id] = per_doc.get(chunk.document_id, 0) + 1
        chosen.append(hit)
        if len(chosen) == k:
            break
    return chosen


def best_sentences(
    question: str, lang: str | None, chunks: list[ChunkRow], limit: int = 3
) -> list[tuple[int, str]]:
    """(source index, sentence) pairs that best answer the question, in source order of rank.

    A sentence scores by the share of the question's stemmed terms it holds, plus a prior
    for the rank of its chunk; at most two sentences come from one source.
    """
    q = terms(question, lang)
    scored = []
    for i, chunk in enumerate(chunks):
        for j, sent in enumerate(sentences(chunk.text)):
            overlap = len(q & terms(sent, lang)) / max(1, len(q))
            prior = 0.3 / (1 + i) + 0.05 / (1 + j)
            scored.append((overlap + prior, i, j, sent))
    scored.sort(key=lambda t: -t[0])
    out: list[tuple[int, int, str]] = []
    per_source: dict[int, int] = {}
    for _, i, j, sent in scored:
        if per_source.get(i, 0) >= 2:
            continue
        per_source[i] = per_source.get(i, 0) + 1
        out.append((i, j, sent[:400]))
        if len(out) == limit:
            break
    out.sort(key=lambda t: (t[0], t[1]))
    return [(i, s) for i, _, s in out]


def snippet(text: str, limit: int = 300) -> str:
    """The opening of a chunk as plain text: one line, Markdown's bold markers dropped (the
    guide writes "**Appoint data owners.**"; a snippet is shown and matched as text)."""
    text = " ".join(text.replace("**", "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def make_sources(hits: list[Hit], docs: dict[str, DocumentRow]) -> list[Source]:
    out = []
    for n, hit in enumerate(hits, start=1):
        c, score = hit.chunk, hit.dense
        d = docs[c.document_id]
        out.append(
            Source(
                n=n, document_id=d.id, title=d.title, source=d.source, kind=d.kind,
                page=c.page, section=c.section, snippet=snippet(c.text), score=round(score, 4),
                municipality=c.municipality, project_id=c.project_id,
                date=(d.meta or {}).get("date"),
                ocr=c.page is not None and c.page in ((d.meta or {}).get("ocr_pages") or ()),
            )  # fmt: skip
        )
    return out


def compose(question: str, lang: str | None, hits: list[Hit]) -> str:
    """The answer text: the best sentences, each followed by its [n] citation."""
    picked = best_sentences(question, lang, [h.chunk for h in hits])
    return " ".join(f"{s} [{i + 1}]" for i, s in picked)
