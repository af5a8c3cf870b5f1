"""Comparable projects: for a free text or for a project, each with why it matches."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from index.embedder import Embedder
from index.store import Store
from ingest.projects import Project
from kb.access import Viewer
from kb.catalogue import Catalogue
from kb.records import SimilarProject
from kb.text import slugify, terms


class ProjectFinder:
    """Finds projects comparable to a text or to another project."""

    def __init__(self, store: Store, embedder: Embedder, catalogue: Catalogue,
                 mode: str = "hybrid"):  # fmt: skip
        self.store = store
        self.embedder = embedder
        self.catalogue = catalogue
        self.mode = mode

    def similar(
        self,
        text: str | None = None,
        project_id: str | None = None,
        exclude_municipality: str | None = None,
        k: int = 5,
        themes: Iterable[str] | None = None,
        stage: str | None = None,
        status: str | None = None,
        viewer: Viewer | None = None,
    ) -> list[SimilarProject]:
        """Comparable projects for a free text or for a project (its own municipality excluded
        by default, unless `exclude_municipality` is given as '').

        Args:
            themes: keep projects with at least one of these themes.
            stage, status: keep projects at this value-chain stage / with this status.
            viewer: only projects (and a base project) this viewer may see; None: all.
        """
        viewer = Viewer.resolve(viewer)
        wanted_themes = {t for t in (themes or []) if t}

        def keep(p: dict) -> bool:
            return (
                (not wanted_themes or bool(wanted_themes & set(p.get("themes", []))))
                and (not stage or p.get("stage") == stage)
                and (not status or p.get("status") == status)
            )

        base: dict | None = None
        if project_id:
            base = self.catalogue.project(project_id, viewer)
            if base is None:
                raise KeyError(f"no project with id '{project_id}'")
            doc = self.store.document_by_key(f"project:{project_id}", viewer.filters())
            rowids = [c.rowid for c in self.store.chunks_of(doc.id)]  # type: ignore[union-attr]
            vec = self.store.vectors_of(rowids).mean(axis=0)  # type: ignore[arg-type]
            vec = vec / (np.linalg.norm(vec) or 1.0)
            query_text = Project.model_validate(base).text()
            if exclude_municipality is None:
                exclude_municipality = base["municipality"]
        elif text:
            vec = self.embedder.embed_queries([text])[0]
            query_text = text
        else:
            raise ValueError("give a text or a project id")
        filters = viewer.filters(kind="project", exclude_municipality=slugify(
            exclude_municipality) if exclude_municipality else None)  # fmt: skip
        # Record filters apply after the search: look at every project chunk when they are set.
        depth = k * 4 + 4 if not (wanted_themes or stage or status) else 10_000
        hits = self.store.search(vec, depth, filters, text=query_text, mode=self.mode)
        out: list[SimilarProject] = []
        seen = {project_id}
        for h in hits:
            c, score = h.chunk, h.dense
            if c.project_id in seen or c.project_id is None:
                continue
            seen.add(c.project_id)
            p = self.catalogue.project(c.project_id, viewer)
            if p is None or not keep(p):
                continue
            out.append(self._entry(p, score, base, text))
            if len(out) == k:
                break
        return out

    def _entry(self, p: dict, score: float, base: dict | None, text: str | None) -> SimilarProject:
        blocks, themes = list(p["building_blocks"]), list(p["themes"])
        if base is not None:
            shared_b = [b for b in blocks if b in base["building_blocks"]]
            shared_t = [t for t in themes if t in base["themes"]]
        catalogue = self.catalogue.building_blocks()
        matching: list[str] = []
        if base is None:
            # Free text, Dutch or English: compare stemmed words in both languages.
            query = terms(text or "")
            shared_b = [b for b in blocks if query & terms(
                f"{b.replace('-', ' ')} {catalogue.get(b, {}).get('name', '')}")]  # fmt: skip
            shared_t = [t for t in themes if query & terms(t.replace("-", " "))]
            own = terms(f"{p['title']} {p.get('summary', '')}")
            matching = sorted({w for w in re.findall(r"[^\W_]{3,}", (text or "").lower())
                               if terms(w) & own})[:6]  # fmt: skip
        names = [catalogue.get(b, {}).get("name", b) for b in shared_b]
        parts = []
        if names:
            parts.append("shared building blocks: " + ", ".join(names))
        if shared_t:
            parts.append("shared themes: " + ", ".join(shared_t))
        if matching:
            parts.append("matching words: " + ", ".join(matching))
        why = "; ".join(parts) or f"similar description (score {score:.2f})"
        return SimilarProject(
            id=p["id"], title=p["title"], municipality=p["municipality"], score=round(score, 4),
            why=why, shared_building_blocks=shared_b, shared_themes=shared_t,
            building_blocks=blocks, themes=themes, status=p.get("status"), stage=p.get("stage"),
            summary=p.get("summary", ""), matching_words=matching,
        )  # fmt: skip
