"""Questions in, cited answers out: retrieval, the "no answer" decision, the composed text,
the building blocks and comparable projects beside it."""

from __future__ import annotations

import numpy as np

from index.store import Filters, Hit, Store
from kb.answer import Answer, BlockRef, ProjectRef, compose, make_sources, select_diverse
from kb.catalogue import Catalogue
from kb.query import Query
from kb.retrieval import Retriever, candidates
from kb.text import slugify


class Answerer:
    """Answers questions from what `retriever` finds in `store`."""

    def __init__(self, store: Store, retriever: Retriever, catalogue: Catalogue):
        self.store = store
        self.retriever = retriever
        self.catalogue = catalogue

    def ask(self, question: str, municipality: str | None = None, kind: str | None = None,
            k: int = 5, building_block: str | None = None) -> Answer:  # fmt: skip
        """An extractive answer with [n] citations, or an honest 'no answer'."""
        filters = Filters(municipality=slugify(municipality) if municipality else None, kind=kind,
                          building_block=building_block)  # fmt: skip
        q = self.retriever.analyse(question)
        vector = self.retriever.embed(q)
        hits = self.retriever.retrieve(q, k=candidates(k), filters=filters, vector=vector)
        chosen = select_diverse(hits, k)
        docs = {d: self.store.document(d) for d in {h.chunk.document_id for h in chosen}}
        # A document removed (or replaced) by another thread since the search is not cited.
        chosen = [h for h in chosen if docs[h.chunk.document_id] is not None]
        sources = make_sources(chosen, docs)  # type: ignore[arg-type]
        answered = self.retriever.confident(q, chosen, pool=hits)
        blocks = self.blocks_for(chosen)
        projects = self.projects_for(q, hits, vector)
        if not answered:
            topics = [f"{s.title} ({s.where})" if s.where else s.title for s in sources[:3]]
            text = (
                "The knowledge base has no confident answer to this question."
                if q.language != "nl"
                else "De kennisbank heeft geen betrouwbaar antwoord op deze vraag."
            )
            return Answer(question, text, False, sources, blocks, projects, topics)
        return Answer(question, compose(question, q.language, chosen), True, sources, blocks,
                      projects)  # fmt: skip

    def blocks_for(self, hits: list[Hit], limit: int = 3) -> list[BlockRef]:
        """The building blocks the hits speak to most, weighted by their scores."""
        catalogue = self.catalogue.building_blocks()
        scores: dict[str, float] = {}
        for h in hits:
            for b in h.chunk.building_blocks:
                scores[b] = scores.get(b, 0.0) + h.score
        best = sorted(scores.items(), key=lambda t: -t[1])[:limit]
        return [
            BlockRef(
                b,
                catalogue.get(b, {}).get("name", b),
                catalogue.get(b, {}).get("stage"),
                round(s, 4),
            )
            for b, s in best
        ]

    def projects_for(self, q: Query, hits: list[Hit], vector: np.ndarray,
                     limit: int = 3) -> list[ProjectRef]:  # fmt: skip
        """Projects among the hits, or found by a search of the projects alone."""
        project_hits = [h for h in hits if h.chunk.project_id]
        if len(project_hits) < limit:
            project_hits = self.retriever.retrieve(
                q, k=10, filters=Filters(kind="project"), vector=vector
            )
        out: list[ProjectRef] = []
        seen: set[str] = set()
        for h in project_hits:
            c, s = h.chunk, h.dense
            if c.project_id in seen or c.project_id is None:
                continue
            seen.add(c.project_id)
            p = self.catalogue.project(c.project_id) or {}
            out.append(ProjectRef(c.project_id, p.get("title", c.project_id), c.municipality,
                                  round(s, 4), p.get("summary", "")))  # fmt: skip
            if len(out) == limit:
                break
        return out
