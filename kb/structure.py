"""Section- and block-level ranking of the guide: a question's hits in the guide are summed
per building block, and the sections of the best blocks are ranked, the asked facet
(kb/routing.py) first. The result is one more ranking for the fusion (`Retriever`), so that
for a guide question the advice itself comes first even where chunk-level retrieval scattered
it over projects and strategies.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.store import Hit, Store
from kb.cache import Derived
from kb.routing import facet_of_section

# Rank constant of the per-block sums: a block's score is the sum of 1 / (BLOCK_RRF + rank)
# over the best ranks of its BLOCK_SECTIONS best sections among the guide hits (a block is
# judged by its best sections, not by how many middling hits it has).
BLOCK_RRF = 5
BLOCK_SECTIONS = 2
# Sections that list project ids, not advice.
_SKIP = ("related projects",)


@dataclass(frozen=True)
class GuideSection:
    rowid: int
    block: str | None
    facet: str | None


class GuideStructure:
    """The guide's chunks with their block and facet, and the ranking built from them."""

    def __init__(self, store: Store, cache: Derived):
        self.store = store
        self.cache = cache

    def sections(self) -> dict[int, GuideSection]:
        """Every guide chunk by row id (cached until the store changes)."""

        def build() -> dict[int, GuideSection]:
            out = {}
            for doc in self.store.documents(kind="guide"):
                for c in self.store.chunks_of(doc.id):
                    if (c.section or "").lower().endswith(_SKIP):
                        continue
                    block = c.building_blocks[0] if c.building_blocks else None
                    out[c.rowid] = GuideSection(c.rowid, block, facet_of_section(c.section))  # type: ignore[arg-type]
            return out

        return self.cache.get("guide_sections", self.store.generation, build)

    def ranking(self, guide_hits: list[Hit], asked: dict[str, int], top_blocks: int,
                facet_bonus: float, limit: int = 20,
                named: str | None = None) -> list[int]:  # fmt: skip
        """Guide chunk row ids, best first: a chunk's own rank score among `guide_hits`
        plus its block's summed score, that sum raised by `facet_bonus` for a section of
        an asked facet; only the `top_blocks` best blocks' sections join without a hit.
        A block the question names (`named`, "datamanagement") is the best block."""
        sections = self.sections()
        own: dict[int, float] = {}
        per_section: dict[tuple[str, str | None], float] = {}
        for rank, h in enumerate(guide_hits, start=1):
            s = sections.get(h.chunk.rowid)  # type: ignore[arg-type]
            if s is None:
                continue
            own[s.rowid] = 1.0 / (BLOCK_RRF + rank)
            if s.block:
                key = (s.block, h.chunk.section)
                per_section[key] = max(per_section.get(key, 0.0), own[s.rowid])
        by_block: dict[str, list[float]] = {}
        for (block, _), v in per_section.items():
            by_block.setdefault(block, []).append(v)
        block_score = {
            b: sum(sorted(vs, reverse=True)[:BLOCK_SECTIONS]) for b, vs in by_block.items()
        }
        if named is not None and any(s.block == named for s in sections.values()):
            # The question says which block it is about: no search result overrules that.
            block_score[named] = max(block_score.values(), default=0.0) + 1.0 / BLOCK_RRF
        best = sorted(block_score, key=lambda b: -block_score[b])[:top_blocks]
        scores: dict[int, float] = dict(own)
        for s in sections.values():
            if s.block not in best:
                continue
            b = block_score[s.block]  # type: ignore[index]
            bonus = facet_bonus * b if s.facet and s.facet in asked else 0.0
            scores[s.rowid] = own.get(s.rowid, 0.0) + b + bonus
        return [r for r, _ in sorted(scores.items(), key=lambda t: -t[1])[:limit]]
