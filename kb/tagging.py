"""Building-block tags for chunks that bring none of their own, by likeness to the guide.

Guide chunks carry the block of the section they come from, and project chunks the blocks
of their record. Every other chunk (strategy PDFs, other documents) is tagged here: each
building block gets a *prototype*, the normalised mean of the vectors of its guide chunks,
and a chunk takes the blocks whose prototype it resembles most (see `assign`).

Order does not matter: a strategy ingested before the guide is tagged as soon as the
guide arrives. `BlockTagger.sync` runs after every ingest, removal and reindex; when the prototypes
have changed since the tags were made (a guide added, changed or removed, another model)
it re-tags the stored chunks from their stored vectors, without embedding anything again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder
from index.store import ChunkRow, Store
from kb.cache import Derived

# Bumped when the rule below changes, so that stored tags are redone.
VERSION = "1"
# A chunk is tagged with a block when its cosine to the block's prototype exceeds the mean
# of its cosines to all prototypes by MARGIN (centring removes what a chunk shares with
# every block: its language, its genre), and at most TOP_N blocks. Calibrated on the
# shipped strategies against corpus/strategies/coverage.yaml (bench/coverage.py).
MARGIN = 0.04
# A model whose cosines sit closer together needs a margin in proportion: the mean spread
# (standard deviation over the blocks) of a strategy chunk's centred likeness is 0.058
# with all-MiniLM-L6-v2 and 0.010 with multilingual-e5-small on the shipped strategies,
# so e5's margin is MARGIN scaled by 0.17 (measured from the stored vectors of the two
# corpus stores; docs/benchmarks.md, "Strategy check").
SPREAD = {"all-MiniLM-L6-v2": 0.0583, "multilingual-e5-small": 0.0100}


def scale_for(model: str) -> float:
    """How much closer a model's centred likenesses sit than the default model's."""
    return SPREAD.get(model, SPREAD["all-MiniLM-L6-v2"]) / SPREAD["all-MiniLM-L6-v2"]
TOP_N = 2
MANIFEST_KEY = "block_tags"
# Sections of a block that hold no prose about it (lists of project ids).
_SKIP_SECTIONS = ("related projects",)
# Kinds whose chunks take their blocks from their source, never from likeness.
SOURCE_TAGGED = ("guide", "project")


@dataclass(frozen=True)
class Prototypes:
    """One unit vector per building block, in the order of `ids`."""

    ids: list[str]
    matrix: np.ndarray
    fingerprint: str


def build_prototypes(
    vectors_by_block: dict[str, list[np.ndarray]], fingerprint: str = ""
) -> Prototypes | None:
    """Prototypes from guide chunk vectors grouped by block; None when there are none."""
    ids = sorted(b for b, vs in vectors_by_block.items() if len(vs))
    if not ids:
        return None
    matrix = np.stack([np.mean(np.stack(vectors_by_block[b]), axis=0) for b in ids]).astype(
        np.float32
    )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return Prototypes(ids, np.ascontiguousarray(matrix / norms), fingerprint)


def scores(vectors: np.ndarray, protos: Prototypes) -> np.ndarray:
    """Centred likeness, chunks x blocks: cosine to each prototype minus the chunk's mean."""
    sims = np.asarray(vectors, dtype=np.float32) @ protos.matrix.T
    return sims - sims.mean(axis=1, keepdims=True)


def assign(
    vectors: np.ndarray, protos: Prototypes, margin: float = MARGIN, top_n: int = TOP_N
) -> list[tuple[str, ...]]:
    """The blocks each chunk speaks to: at most `top_n`, each above `margin` (best first)."""
    s = scores(vectors, protos) if len(vectors) else np.zeros((0, len(protos.ids)))
    out = []
    for row in s:
        best = np.argsort(-row)[:top_n]
        out.append(tuple(protos.ids[j] for j in best if row[j] >= margin))
    return out


def _auto_tagged(kind: str, meta: dict) -> bool:
    # A Markdown document that declares its own blocks keeps them.
    return kind not in SOURCE_TAGGED and not meta.get("blocks")


class BlockTagger:
    """Tags chunks with building blocks by likeness to the guide in `store`."""

    def __init__(self, store: Store, embedder: Embedder, cache: Derived):
        self.store = store
        self.embedder = embedder
        self.cache = cache
        self.margin = round(MARGIN * scale_for(embedder.name), 4)

    def _store_is_current(self) -> bool:
        # During a reindex to another model the store still holds the old model's vectors.
        m = self.store.manifest()
        return (m.get("fingerprint") == self.embedder.fingerprint
                and m.get("dim") == str(self.embedder.dim))  # fmt: skip

    def prototypes(self) -> Prototypes | None:
        """The prototypes of the guide in the store (None without a guide), cached per
        write."""

        def build() -> Prototypes | None:
            if not self._store_is_current():
                return None
            grouped: dict[str, list[np.ndarray]] = {}
            guide_ids = []
            for doc in self.store.documents(kind="guide"):
                guide_ids.append(doc.id)
                chunks = [
                    c
                    for c in self.store.chunks_of(doc.id)
                    if c.building_blocks
                    and not (c.section or "").lower().endswith(_SKIP_SECTIONS)
                ]
                if not chunks:
                    continue
                vecs = self.store.vectors_of([c.rowid for c in chunks])
                for c, v in zip(chunks, vecs, strict=True):
                    for b in c.building_blocks:
                        grouped.setdefault(b, []).append(v)
            key = json.dumps(
                [VERSION, self.margin, TOP_N, self.embedder.fingerprint, sorted(guide_ids)]
            )
            return build_prototypes(grouped, hashlib.sha256(key.encode()).hexdigest()[:16])

        return self.cache.get("block_prototypes", self.store.generation, build)

    def tag_rows(
        self, kind: str, meta: dict, rows: list[ChunkRow], vectors: np.ndarray
    ) -> list[ChunkRow]:
        """Rows of a document being ingested, with their blocks filled in where they have
        none."""
        protos = self.prototypes() if _auto_tagged(kind, meta) else None
        if protos is None:
            return rows
        tags = assign(vectors, protos, self.margin)
        return [
            r if r.building_blocks else dataclasses.replace(r, building_blocks=t)
            for r, t in zip(rows, tags, strict=True)
        ]

    def sync(self) -> int:
        """Re-tag stored documents when the prototypes changed since they were tagged.

        Returns the number of documents re-tagged. Call with the write lock held.
        """
        protos = self.prototypes()
        current = protos.fingerprint if protos else ""
        if self.store.manifest_json(MANIFEST_KEY) == current:
            return 0
        n = 0
        with self.store.batch():
            for doc in self.store.documents():
                if not _auto_tagged(doc.kind, doc.meta):
                    continue
                chunks = self.store.chunks_of(doc.id)
                if not chunks:
                    continue
                vectors = self.store.vectors_of([c.rowid for c in chunks])
                tags = assign(vectors, protos, self.margin) if protos else [()] * len(chunks)
                if all(c.building_blocks == t for c, t in zip(chunks, tags, strict=True)):
                    continue
                rows = [
                    dataclasses.replace(c, rowid=None, building_blocks=t)
                    for c, t in zip(chunks, tags, strict=True)
                ]
                self.store.put(doc, rows, vectors)
                n += 1
        self.store.set_manifest_json(MANIFEST_KEY, current)
        return n
