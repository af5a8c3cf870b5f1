"""The region at a glance: municipalities × building blocks, from the stored strategies and
project records.

A municipality's status for a block comes from its strategy documents in the store, by the
strategy check's rule (`kb.check.classify`) applied to the stored chunks: the number of
chunks tagged with the block (their stored tags, made by `kb.tagging`) and the best chunk's
centred likeness to the block's prototype (from the stored vectors; nothing is embedded
again). Unlike `kb check`, single sentences are not embedded one by one, so a passing
mention diluted in a chunk about something else is not seen: the matrix can show *missing*
where a check of the same PDF says *weak*. The result is cached per store generation, so it
follows every added or removed strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kb import check, tagging
from kb.access import Viewer
from kb.answer import snippet

if TYPE_CHECKING:
    from kb.core import KnowledgeBase

FURTHEST = 3  # municipalities named as furthest from the guide
EVIDENCE = 3


@dataclass(frozen=True)
class Cell:
    status: str | None  # covered | weak | missing; None without a strategy in the store
    chunks: int  # strategy chunks tagged with the block
    score: float  # the best chunk's centred likeness
    projects: int  # the municipality's projects on the block


@dataclass(frozen=True)
class Standing:
    municipality: str
    share: float  # (covered + weak / 2) / blocks, as in kb.check.by_stage
    missing: int


@dataclass(frozen=True)
class Overview:
    municipalities: list[dict]  # {id, name}, in the catalogue's order
    blocks: list[dict]  # {id, name, stage}, grouped by value-chain stage
    cells: dict[tuple[str, str], Cell]
    strategies: dict[str, list[str]]  # municipality id -> its strategy document ids
    uncovered: list[str]  # blocks that no strategy covers (weak or missing everywhere)
    furthest: list[Standing]  # municipalities with a strategy, furthest from the guide first
    projects: int = 0
    notes: list[str] = field(default_factory=list)

    def cell(self, municipality: str, block: str) -> Cell:
        return self.cells.get((municipality, block), Cell(None, 0, 0.0, 0))

    def to_rows(self) -> list[dict]:
        """One row per municipality and block (the CSV export)."""
        rows = []
        for m in self.municipalities:
            for b in self.blocks:
                c = self.cell(m["id"], b["id"])
                rows.append({"municipality": m["id"], "municipality_name": m["name"],
                             "stage": b.get("stage") or "", "block": b["id"],
                             "block_name": b["name"], "status": c.status or "",
                             "chunks": c.chunks, "score": c.score,
                             "projects": c.projects})  # fmt: skip
        return rows


def _blocks(kb: KnowledgeBase) -> list[dict]:
    order = {st: i for i, st in enumerate(check.STAGES)}
    blocks = [{"id": i, "name": b.get("name", i), "stage": b.get("stage")}
              for i, b in kb.building_blocks().items()]  # fmt: skip
    return sorted(blocks, key=lambda b: (order.get(b["stage"] or "", len(order)), b["id"]))


def _coverage(kb: KnowledgeBase, doc_ids: list[str], protos: tagging.Prototypes,
              t: check.Thresholds) -> dict[str, tuple[int, float]]:  # fmt: skip
    """(tagged chunks, best score) per block over the chunks of these documents."""
    chunks = [c for d in doc_ids for c in kb.store.chunks_of(d)]
    if not chunks:
        return {}
    vectors = kb.store.vectors_of([c.rowid for c in chunks])
    s = tagging.scores(vectors, protos)
    out = {}
    for j, bid in enumerate(protos.ids):
        n = sum(bid in c.building_blocks for c in chunks)
        out[bid] = (n, float(s[:, j].max()))
    return out


DEFAULT_THRESHOLDS = check.Thresholds()


def build(kb: KnowledgeBase, t: check.Thresholds = DEFAULT_THRESHOLDS,
          viewer: Viewer | None = None) -> Overview:  # fmt: skip
    """The matrix from the store as it is now (see `overview` for the cached one), from the
    strategies and projects `viewer` may see (None: everything)."""
    munis = [{"id": m["id"], "name": m.get("name", m["id"])} for m in kb.municipalities()
             if m.get("id") and m.get("id") != "regional"]  # fmt: skip
    blocks = _blocks(kb)
    strategies: dict[str, list[str]] = {}
    for d in kb.documents(kind="strategy", viewer=viewer):
        if d.municipality:
            strategies.setdefault(d.municipality, []).append(d.id)
    projects = kb.projects(viewer)
    # A strategy or projects of a place the municipalities list lacks get a row of their own.
    known = {m["id"] for m in munis}
    extra = set(strategies) | {p.get("municipality") for p in projects if p.get("municipality")}
    for mid in sorted(extra - known - {"regional"}):
        munis.append({"id": mid, "name": kb.municipality_name(mid)})
    counts: dict[tuple[str, str], int] = {}
    for p in projects:
        for b in p.get("building_blocks", []):
            key = (p.get("municipality") or "", b)
            counts[key] = counts.get(key, 0) + 1
    protos = kb.tagger.prototypes()
    cells: dict[tuple[str, str], Cell] = {}
    notes = []
    if protos is None and strategies:
        notes.append("no guide with building blocks in the store: strategies are not scored")
    for m in munis:
        cov = _coverage(kb, strategies.get(m["id"], []), protos, t) if protos else {}
        for b in blocks:
            n, best = cov.get(b["id"], (0, 0.0))
            status = check.classify(n, best, 0, t) if cov else None
            cells[(m["id"], b["id"])] = Cell(status, n, round(best, 4),
                                             counts.get((m["id"], b["id"]), 0))  # fmt: skip
    scored = [m["id"] for m in munis if any(cells[(m["id"], b["id"])].status for b in blocks)]
    uncovered = [b["id"] for b in blocks if scored
                 and not any(cells[(m, b["id"])].status == "covered" for m in scored)]  # fmt: skip
    standings = []
    for mid in scored:
        st = [cells[(mid, b["id"])].status for b in blocks]
        share = (st.count("covered") + st.count("weak") / 2) / max(len(blocks), 1)
        standings.append(Standing(mid, round(share, 3), st.count("missing")))
    standings.sort(key=lambda s: (s.share, -s.missing, s.municipality))
    return Overview(munis, blocks, cells, strategies, uncovered, standings[:FURTHEST],
                    len(projects), notes)  # fmt: skip


def overview(kb: KnowledgeBase, viewer: Viewer | None = None) -> Overview:
    """The matrix `viewer` may see, computed once per store generation and per scope of
    visibility (an added strategy shows at once; one municipality's never in another's)."""
    viewer = Viewer.resolve(viewer)
    return kb.cache.get(f"overview:{viewer.scope}", kb.store.generation,
                        lambda: build(kb, viewer=viewer))  # fmt: skip


@dataclass(frozen=True)
class Passage:
    document_id: str
    title: str
    page: int | None
    section: str | None
    snippet: str
    score: float


def evidence(kb: KnowledgeBase, municipality: str, block: str, n: int = EVIDENCE,
             viewer: Viewer | None = None) -> tuple[list[Passage], list[dict]]:  # fmt: skip
    """The strategy passages that speak most to a block, and the municipality's projects on
    it, of what `viewer` may see."""
    ov = overview(kb, viewer)
    projects = [p for p in kb.projects(viewer) if p.get("municipality") == municipality
                and block in p.get("building_blocks", [])]  # fmt: skip
    protos = kb.tagger.prototypes()
    docs = ov.strategies.get(municipality, [])
    if protos is None or block not in protos.ids or not docs:
        return [], projects
    chunks = [c for d in docs for c in kb.store.chunks_of(d)]
    if not chunks:
        return [], projects
    j = protos.ids.index(block)
    col = tagging.scores(kb.store.vectors_of([c.rowid for c in chunks]), protos)[:, j]
    found = {d: kb.document(d, viewer) for d in docs}
    titles = {d: (doc.title if doc else d) for d, doc in found.items()}
    floor = check.Thresholds().margin / 2  # as kb.check: below this a chunk says nothing of it
    out = []
    for i in np.argsort(-col)[:n]:
        if col[i] < floor and block not in chunks[i].building_blocks:
            continue
        c = chunks[i]
        out.append(Passage(c.document_id, titles[c.document_id], c.page, c.section,
                           snippet(c.text, 300), round(float(col[i]), 4)))  # fmt: skip
    return out, projects
