"""Questions in, cited answers out: a follow-up resolved against the earlier turns,
retrieval, the "no answer" decision, the composed (or language-model) answer, and the
building blocks and comparable projects beside it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.store import Filters, Hit, Store
from kb.access import Viewer
from kb.answer import Answer, BlockRef, ProjectRef, make_sources, select_diverse
from kb.catalogue import Catalogue
from kb.compose import answer_language, compose_answer, wanted_section, with_projects, with_section
from kb.facets import facet_of_question
from kb.followup import Resolved, Turn, resolve_followup
from kb.llm import (
    LlmConfig,
    LlmError,
    Passage,
    dropped_note,
    passages_from,
    stream_answer,
    write_answer,  # fmt: skip
)
from kb.query import Query
from kb.retrieval import Retriever, candidates
from kb.text import slugify


@dataclass(frozen=True)
class Draft:
    """An answer before a language model writes its text: the composed answer (text,
    sources, blocks, projects) and the numbered passages the model is given."""

    answer: Answer
    passages: list[Passage]
    question: str  # as searched (a follow-up resolved)

    @property
    def for_model(self) -> bool:
        """Whether a configured model should write this answer: only an answered one."""
        return self.answer.answered


def as_turns(history: Iterable[Turn | dict] | None) -> list[Turn]:
    """Earlier turns as `Turn`s (the API and the app keep them as dicts)."""
    return [t if isinstance(t, Turn) else Turn.from_dict(t) for t in history or ()]


class Answerer:
    """Answers questions from what `retriever` finds in `store`."""

    def __init__(self, store: Store, retriever: Retriever, catalogue: Catalogue,
                 llm: LlmConfig | None = None):  # fmt: skip
        self.store = store
        self.retriever = retriever
        self.catalogue = catalogue
        self.llm = llm

    def resolve(self, question: str, history: Sequence[Turn | dict] | None) -> Resolved:
        """The question to search: a follow-up completed from the earlier turns."""
        return resolve_followup(question, as_turns(history), self.catalogue.municipalities(),
                                self.catalogue.building_blocks())  # fmt: skip

    def ask(self, question: str, municipality: str | None = None, kind: str | None = None,
            k: int = 5, building_block: str | None = None,
            history: Sequence[Turn | dict] | None = None,
            since: int | None = None, viewer: Viewer | None = None) -> Answer:  # fmt: skip
        """A cited answer in the question's language, or an honest 'no answer'.

        Args:
            history: the earlier turns of the conversation, oldest first; a follow-up
                ("En in Delft?") is resolved against the last one.
            since: only documents dated this year or later.
            viewer: whose answer it is: only documents they may see (None: everything).
        """
        d = self.draft(question, municipality, kind, k, building_block, history, since, viewer)
        if self.llm is None or not d.for_model:
            return d.answer
        lang = d.answer.language
        written = write_answer(self.llm, d.question, lang, d.passages, d.answer.answer)
        return replace(d.answer, answer=written.text, written_by=written.written_by,
                       note=written.note)  # fmt: skip

    def stream(self, question: str, municipality: str | None = None, kind: str | None = None,
               k: int = 5, building_block: str | None = None,
               history: Sequence[Turn | dict] | None = None,
               since: int | None = None,
               viewer: Viewer | None = None) -> Iterator[Answer]:  # fmt: skip
        """`ask` as it is written: with a language model configured, first the answer with
        its sources and an empty text, then the text so far after each checked sentence,
        last the finished answer; without one (or with no answer found), the answer once.
        When the model fails midway, the last answer is the composed one with the reason
        in `note` (the sources are the same throughout)."""
        d = self.draft(question, municipality, kind, k, building_block, history, since, viewer)
        if self.llm is None or not d.for_model:
            yield d.answer
            return
        lang = d.answer.language
        writing = replace(d.answer, answer="", written_by="llm")
        yield writing
        stream = stream_answer(self.llm, d.question, lang, d.passages)
        text = ""
        try:
            for delta in stream:
                text += delta
                yield replace(writing, answer=text)
        except LlmError as e:
            yield replace(d.answer, note=e.line(lang))
            return
        assert stream.result is not None
        yield replace(writing, answer=stream.result.text, note=dropped_note(stream.result, lang))

    def draft(self, question: str, municipality: str | None = None, kind: str | None = None,
              k: int = 5, building_block: str | None = None,
              history: Sequence[Turn | dict] | None = None,
              since: int | None = None, viewer: Viewer | None = None) -> Draft:  # fmt: skip
        """The composed answer and the passages a language model would write from."""
        viewer = Viewer.resolve(viewer)
        r = self.resolve(question, history)
        filters = viewer.filters(
            municipality=slugify(municipality) if municipality else r.municipality,
            kind=kind or r.kind, building_block=building_block or r.building_block,
            since=since,
        )  # fmt: skip
        q = self.retriever.analyse(r.question)
        lang = answer_language(question, q.language)
        vector = self.retriever.embed(q)
        hits = self.retriever.retrieve(q, k=candidates(k), filters=filters, vector=vector)
        found = self._present(select_diverse(hits, k))
        answered = self.retriever.confident(q, found, pool=hits)
        chosen = self._present(self._complete(q, lang, r, found, filters, vector, viewer))
        seen = viewer.filters()
        docs = {h.chunk.document_id: self.store.document(h.chunk.document_id, seen)
                for h in chosen}  # fmt: skip
        # A document removed (or replaced) by another thread since the search is not cited.
        chosen = [h for h in chosen if docs[h.chunk.document_id] is not None]
        sources = make_sources(chosen, docs)  # type: ignore[arg-type]
        blocks = self.blocks_for(chosen)
        projects = self.projects_for(q, hits, vector, viewer=viewer)
        composed = compose_answer(
            r.question, lang, chosen, docs, self.catalogue.building_blocks(),  # type: ignore[arg-type]
            self.catalogue.municipalities(), answered=answered, facet=r.facet,
            project_titles=self.catalogue.project_titles(viewer),
        )  # fmt: skip
        topics = [] if answered else [
            f"{s.title} ({s.where})" if s.where else s.title for s in sources[:3]]  # fmt: skip
        block_ids = [composed.block] if composed.block else []
        block_ids += [b.id for b in blocks if b.id not in block_ids]
        turn = {"question": question, "resolved": r.question, "answer_blocks": block_ids,
                "answer_projects": [p.id for p in projects], "municipality": filters.municipality,
                "kind": filters.kind, "building_block": filters.building_block}  # fmt: skip
        answer = Answer(question, composed.text, answered, sources, blocks, projects, topics,
                        resolved_question=r.question if r.changed else None, language=lang,
                        missing=list(composed.missing), turn=turn)  # fmt: skip
        return Draft(answer, passages_from(chosen, docs), r.question)  # type: ignore[arg-type]

    def _present(self, hits: list[Hit]) -> list[Hit]:
        """The hits whose document is still there: one removed (or replaced) by another
        thread since the search is not cited."""
        return [h for h in hits if self.store.has_document(h.chunk.document_id)]

    def _complete(self, q: Query, lang: str, r: Resolved, hits: list[Hit], filters: Filters,
                  vector: np.ndarray, viewer: Viewer) -> list[Hit]:  # fmt: skip
        """The sources with the guide section the question asks for (its facet of the block
        the hits are about) and, for a question about projects, the projects."""
        wanted = wanted_section(r.question, lang, hits, block=r.topic_block)
        if wanted:
            block_filter = viewer.filters(kind="guide", building_block=wanted[0])
            guide = self.retriever.retrieve(q, k=30, vector=vector, filters=block_filter)
            hits = with_section(hits, guide, *wanted)
        asks_projects = (r.facet or facet_of_question(r.question, lang)) == "projects"
        if asks_projects and filters.kind != "project":
            found = self.retriever.retrieve(q, k=10, vector=vector, filters=viewer.filters(
                kind="project", municipality=filters.municipality))  # fmt: skip
            hits = with_projects(hits, found)
        return hits

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

    def projects_for(self, q: Query, hits: list[Hit], vector: np.ndarray, limit: int = 3,
                     viewer: Viewer | None = None) -> list[ProjectRef]:  # fmt: skip
        """Projects among the hits, or found by a search of the projects alone."""
        viewer = Viewer.resolve(viewer)
        project_hits = [h for h in hits if h.chunk.project_id]
        if len(project_hits) < limit:
            project_hits = self.retriever.retrieve(
                q, k=10, filters=viewer.filters(kind="project"), vector=vector
            )
        out: list[ProjectRef] = []
        seen: set[str] = set()
        for h in project_hits:
            c, s = h.chunk, h.dense
            if c.project_id in seen or c.project_id is None:
                continue
            seen.add(c.project_id)
            p = self.catalogue.project(c.project_id, viewer) or {}
            out.append(ProjectRef(c.project_id, p.get("title", c.project_id), c.municipality,
                                  round(s, 4), p.get("summary", "")))  # fmt: skip
            if len(out) == limit:
                break
        return out
