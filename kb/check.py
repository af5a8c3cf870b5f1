"""The strategy check: a draft strategy against the guide's building blocks.

The draft is parsed and embedded in memory (stored only with `add=True`). Each of its
chunks, and each of its sentences, is scored against every block's prototype (kb.tagging);
a block is *covered* when enough chunks speak to it, *weak* when one does or a sentence
mentions it, *missing* otherwise. For every gap
the result gives the guide's action perspectives for that block and comparable projects
in the region that work on it, other municipalities first.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.store import ChunkRow, DocumentRow
from ingest import Document, IngestError
from ingest.loader import load_file
from kb import tagging
from kb.access import AccessDenied, Viewer
from kb.answer import snippet
from kb.text import sentences, slugify

if TYPE_CHECKING:
    from kb.core import KnowledgeBase

STAGES = ("ambition", "organisation", "foundations", "applications", "public-value")
STATUSES = ("covered", "weak", "missing")
# A block is covered when at least `covered_chunks` of the draft's chunks are tagged with
# it; weak when at least `weak_chunks` are, or its best chunk reaches `weak_score`, or one
# sentence mentions it (a passing mention is diluted in a chunk about something else, so
# sentences are embedded one by one as well); missing otherwise. Tuned by bench/coverage.py
# on the first four shipped strategies; docs/benchmarks.md gives the held-out figures.


@dataclass(frozen=True)
class Thresholds:
    margin: float = tagging.MARGIN
    top_n: int = tagging.TOP_N
    covered_chunks: int = 2
    weak_chunks: int = 1
    weak_score: float = 0.08
    # A single sentence whose best block this is, by this centred likeness, is a mention.
    sentence_score: float = 0.14


# Thresholds per embedder (its `name`), for models whose centred likeness sits elsewhere;
# others take the defaults above. Calibrated by bench/coverage.py --tune (see there).
TUNED: dict[str, Thresholds] = {
    # The default model's thresholds scaled by 0.15 (its likenesses sit closer together,
    # kb.tagging.scale_for): the best "missing" precision of the factors 0.15-0.26 x covered
    # chunks 2-3 on the first four shipped strategies, at "covered" precision >= 0.8
    # (bench/check_grid.py, docs/benchmarks.md "Strategy check with the default model").
    "multilingual-e5-small": Thresholds(margin=0.006, weak_score=0.012, sentence_score=0.021),
}


def thresholds_for(model: str) -> Thresholds:
    """The check's thresholds for an embedding model (by name): tuned ones, else the
    default model's scaled to this model's spread of likeness (kb.tagging.scale_for)."""
    if model in TUNED:
        return TUNED[model]
    f = tagging.scale_for(model)
    t = Thresholds()
    return dataclasses.replace(t, margin=round(t.margin * f, 4),
                               weak_score=round(t.weak_score * f, 4),
                               sentence_score=round(t.sentence_score * f, 4))  # fmt: skip


EVIDENCE = 3
PROJECTS_PER_GAP = 3
_STATUS_RANK = {"scaled": 0, "implementation": 1, "pilot": 2, "idea": 3, "stopped": 4}
_PROJECT_ID = re.compile(r"`([a-z0-9][a-z0-9-]*)`")
LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(.*)$")


class CheckError(Exception):
    """The check cannot run (no guide in the knowledge base, an unreadable file)."""


@dataclass(frozen=True)
class Evidence:
    page: int | None
    snippet: str
    score: float


@dataclass(frozen=True)
class BlockCoverage:
    id: str
    name: str
    stage: str | None
    status: str  # covered | weak | missing
    chunks: int  # chunks of the draft tagged with this block
    score: float  # the best chunk's centred likeness
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class StageCoverage:
    stage: str
    covered: int
    weak: int
    missing: int
    share: float  # (covered + weak / 2) / blocks


@dataclass(frozen=True)
class GapProject:
    id: str
    title: str
    municipality: str | None
    status: str | None
    summary: str


@dataclass(frozen=True)
class Gap:
    id: str
    name: str
    stage: str | None
    status: str
    perspectives: list[str]
    perspectives_source: str  # where in the guide: "Chapter > Block > Action perspectives"
    projects: list[GapProject]


@dataclass(frozen=True)
class CheckResult:
    source: str
    title: str
    municipality: str | None
    language: str | None
    pages: int | None
    chunks: int
    blocks: list[BlockCoverage]
    stages: list[StageCoverage]
    gaps: list[Gap]
    added: str | None = None  # added | replaced | unchanged when asked to add

    def to_dict(self) -> dict:
        return asdict(self)

    def status_of(self, block_id: str) -> str | None:
        return next((b.status for b in self.blocks if b.id == block_id), None)


def classify(chunks: int, best: float, mentions: int = 0, t: Thresholds = Thresholds()) -> str:
    """A block's status from the number of draft chunks tagged with it, its best chunk score
    and the number of sentences that mention it."""
    if chunks >= t.covered_chunks:
        return "covered"
    if chunks >= t.weak_chunks or best >= t.weak_score or mentions >= 1:
        return "weak"
    return "missing"


def mentions(
    draft: Draft, protos: tagging.Prototypes, t: Thresholds
) -> list[tuple[int, int, float]]:
    """(sentence index, block index, centred likeness) for sentences that mention a block."""
    if not len(draft.sentence_vectors):
        return []
    s = tagging.scores(draft.sentence_vectors, protos)
    best = s.argmax(axis=1)
    return [(i, int(j), float(s[i, j])) for i, j in enumerate(best) if s[i, j] >= t.sentence_score]


def coverage(
    draft: Draft,
    protos: tagging.Prototypes,
    catalogue: dict[str, dict],
    t: Thresholds = Thresholds(),
) -> list[BlockCoverage]:
    """Coverage of every block by a draft's chunks and sentences."""
    rows = draft.rows
    s = tagging.scores(draft.vectors, protos)
    tags = tagging.assign(draft.vectors, protos, t.margin, t.top_n)
    said = mentions(draft, protos, t)
    out = []
    for j, bid in enumerate(protos.ids):
        col = s[:, j] if len(s) else np.zeros(0)
        n = sum(bid in tag for tag in tags)
        best = float(col.max()) if len(col) else 0.0
        mine = sorted((m for m in said if m[1] == j), key=lambda m: -m[2])
        status = classify(n, best, len(mine), t)
        ev: list[Evidence] = []
        if status == "covered" or (status == "weak" and not mine):
            order = [i for i in np.argsort(-col) if col[i] >= t.margin / 2][:EVIDENCE]
            ev = [
                Evidence(rows[i].page, snippet(rows[i].text, 240), round(float(col[i]), 4))
                for i in order
            ]
        elif status == "weak":  # the sentences that mention it say more than their chunks
            for i, _, score in mine[:EVIDENCE]:
                chunk = rows[draft.sentences[i][0]]
                ev.append(
                    Evidence(chunk.page, snippet(draft.sentences[i][1], 240), round(score, 4))
                )
        info = catalogue.get(bid, {})
        out.append(
            BlockCoverage(
                bid, info.get("name", bid), info.get("stage"), status, n, round(best, 4), ev
            )
        )
    order = {st: i for i, st in enumerate(STAGES)}
    out.sort(key=lambda b: (order.get(b.stage or "", len(STAGES)), b.id))
    return out


def by_stage(blocks: list[BlockCoverage]) -> list[StageCoverage]:
    stages = list(STAGES) + sorted({b.stage or "" for b in blocks} - set(STAGES))
    out = []
    for st in stages:
        mine = [b for b in blocks if (b.stage or "") == st]
        if not mine:
            continue
        c = {s: sum(b.status == s for b in mine) for s in STATUSES}
        share = (c["covered"] + c["weak"] / 2) / len(mine)
        out.append(StageCoverage(st, c["covered"], c["weak"], c["missing"], round(share, 3)))
    return out


def join_parts(parts: list[str]) -> str:
    """Consecutive chunks of one section as one text: the overlap between two is kept once."""
    text = ""
    for part in parts:
        k = next((k for k in range(min(len(text), len(part)), 0, -1) if text.endswith(part[:k])), 0)
        # Without an overlap the cut fell inside a line unless the next part opens an item.
        glue = "" if k else ("\n" if LIST_ITEM.match(part) else " ")
        text = text + glue + part[k:] if text else part
    return text


def _perspectives(kb: KnowledgeBase, block_id: str,
                  viewer: Viewer | None = None) -> tuple[list[str], str, list[str]]:  # fmt: skip
    """The guide's action perspectives for a block, where they are, and its related projects
    (from the guides the viewer may see)."""
    where = ""
    parts: list[str] = []
    related: list[str] = []
    for doc in kb.documents(kind="guide", viewer=viewer):
        for c in kb.store.chunks_of(doc.id):
            if block_id not in c.building_blocks:
                continue
            section = (c.section or "").lower()
            if section.endswith("action perspectives") and where in ("", c.section):
                where = c.section or ""
                parts.append(c.text)
            elif section.endswith("related projects"):
                related += _PROJECT_ID.findall(c.text)
    lines = join_parts(parts).splitlines()
    items = [m.group(1).strip() for line in lines if (m := LIST_ITEM.match(line))]
    return items, where, related


def _projects(
    catalogue: list[dict], block_id: str, municipality: str | None, related: list[str]
) -> list[GapProject]:
    """Projects on this block: other municipalities first, then the guide's own examples,
    then the furthest along."""
    mine = [p for p in catalogue if block_id in p.get("building_blocks", [])]

    def rank(p: dict) -> tuple:
        own = bool(municipality) and p.get("municipality") == municipality
        return (own, p["id"] not in related, _STATUS_RANK.get(p.get("status") or "", 5), p["id"])

    return [
        GapProject(
            p["id"], p["title"], p.get("municipality"), p.get("status"), p.get("summary", "")
        )
        for p in sorted(mine, key=rank)[:PROJECTS_PER_GAP]
    ]


@dataclass(frozen=True)
class Draft:
    """A document read and embedded in memory, not stored."""

    doc: Document
    data: bytes
    row: DocumentRow
    rows: list[ChunkRow]
    vectors: np.ndarray
    sentences: list[tuple[int, str]]  # (chunk index, sentence)
    sentence_vectors: np.ndarray


def read(
    kb: KnowledgeBase,
    path: Path | str,
    municipality: str | None = None,
    password: str | None = None,
) -> Draft:
    """Parse, chunk and embed a document as an ingest would, without storing anything."""
    path = Path(path)
    try:
        size, limit = path.stat().st_size, kb.settings.max_file_bytes
        if size > limit:
            raise CheckError(
                f"{path.name}: file too large ({size / 1e6:.1f} MB > "
                f"{limit / 1e6:.0f} MB, see KB_MAX_FILE_MB)"
            )
        data = path.read_bytes()
        loaded = load_file(
            path,
            kind="strategy",
            municipality=municipality,
            password=password,
            data=data,
            # The same bounds as an ingest: a hostile upload costs bounded time and memory.
            **kb.settings.load_limits(),
        )
    except OSError as e:
        raise CheckError(f"cannot read {path} ({e.strerror or e})") from e
    except IngestError as e:
        raise CheckError(f"{path.name}: {e}") from e
    if len(loaded.documents) != 1:
        raise CheckError(f"{path.name}: not a single document")
    doc = loaded.documents[0]
    if doc.municipality:
        doc = dataclasses.replace(doc, municipality=slugify(doc.municipality))
    try:
        row, rows, vectors = kb.ingestor.prepare(doc, None)
    except IngestError as e:
        raise CheckError(f"{path.name}: {e}") from e
    said = [(i, sent) for i, r in enumerate(rows) for sent in sentences(r.text)]
    sentence_vectors = kb.embedder.embed_documents([sent for _, sent in said])
    return Draft(doc, data, row, rows, vectors, said, sentence_vectors)


def check(
    kb: KnowledgeBase,
    pdf_path: Path | str,
    municipality: str | None = None,
    add: bool = False,
    password: str | None = None,
    viewer: Viewer | None = None,
) -> CheckResult:
    """Check a strategy document against the guide's building blocks.

    Args:
        municipality: whose strategy it is (name or id); by default from the PDF's info.
        add: also add the document to the knowledge base (otherwise nothing is stored), as a
            `municipality` document when it has one: a draft is its municipality's own.
        viewer: whose check: the gaps' projects and the guide are those the viewer may see;
            adding needs an editor of the draft's municipality (or an admin).

    Raises:
        CheckError: no guide with building blocks in the knowledge base, or an unusable file.
    """
    protos = kb.tagger.prototypes()
    if protos is None:
        raise CheckError(
            "the knowledge base holds no guide with building blocks: ingest the guide first"
        )
    viewer = Viewer.resolve(viewer)
    if add:
        try:  # refused before any work: a reader, or an editor of another municipality
            municipality = viewer.owner(municipality) or municipality
        except AccessDenied as e:
            raise CheckError(str(e)) from e
    d = read(kb, pdf_path, municipality, password)
    blocks = coverage(d, protos, kb.building_blocks(), thresholds_for(str(kb.embedder.name)))
    gaps = []
    catalogue = kb.projects(viewer)
    for b in blocks:
        if b.status == "covered":
            continue
        items, where, related = _perspectives(kb, b.id, viewer)
        projects = _projects(catalogue, b.id, d.doc.municipality, related)
        gaps.append(Gap(b.id, b.name, b.stage, b.status, items, where, projects))
    added = _add(kb, d, viewer) if add else None
    return CheckResult(
        source=Path(pdf_path).name,
        title=d.doc.title,
        municipality=d.doc.municipality,
        language=d.doc.language,
        pages=d.doc.pages,
        chunks=len(d.rows),
        blocks=blocks,
        stages=by_stage(blocks),
        gaps=gaps,
        added=added,
    )


def _add(kb: KnowledgeBase, d: Draft, viewer: Viewer) -> str:
    """Store the checked draft as an ingest would, reusing its vectors: visible to its
    municipality only (`kb visibility DOC_ID regional` shares it); a draft of no municipality
    (only admins and the local user add one) is regional."""
    visibility = "municipality" if d.doc.municipality else "regional"
    return kb.ingestor.add_prepared((d.row, d.rows, d.vectors), d.doc, d.data,
                                    visibility=visibility, actor=viewer.name)  # fmt: skip
