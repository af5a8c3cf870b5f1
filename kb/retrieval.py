"""Retrieval: dense + BM25 fused by the question's language, and the "no answer" decision.

Every search for a question goes through `Retriever`: the filters (municipality, kind,
building block) are applied here and in the store, nowhere else.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from index.embedder import Embedder
from index.fusion import fuse, rrf
from index.glossary import glossary
from index.lexical import tokens
from index.store import Filters, Hit, Store
from kb import answer_type, novelty, routing
from kb.catalogue import Catalogue
from kb.query import Query, analyse
from kb.structure import GuideStructure
from kb.text import terms

# Cosine below which a dense hit is not an answer, for the default model (an embedder may
# bring its own: `min_score`). `kb eval --sweep` shows the trade-off.
DEFAULT_MIN_SCORE = 0.30
# Share of the question's content words a top hit must hold to answer on lexical grounds.
DEFAULT_MIN_COVERAGE = 0.6
# "No answer" also when the question hinges on words the best hits lack (kb/novelty.py): at
# least this share of its informative words is in none of the three best hits (in either
# language, glossary translations included) and in at most ABSENT_MAX_DF chunks of the
# corpus, while the best cosine stays below ABSENT_MIN_SCORE. Found by a grid over share
# 0.15-0.6 x df 0-10 x cosine 0.45-1.0 on the even-numbered corpus questions only (best F1
# at precision >= 0.8, then the fewest answerable questions refused; ties to the smallest
# df, then the largest share); the odd-numbered ones are held out (bench/crosslingual.py,
# docs/benchmarks.md "Retrieval quality").
DEFAULT_MAX_ABSENT = 0.3
ABSENT_MAX_DF = 1
ABSENT_MIN_SCORE = 0.55
# Hybrid fusion by the question's language: (dense ranking's weight, RRF constant). The
# default model is English-trained: on English text its ranking leads, on Dutch BM25 does.
# Swept with bench/fusion_sweep.py on the corpus questions and two BEIR sets
# (docs/benchmarks.md, "Retrieval quality"). A query too short to tell its language (a
# name, a few keywords) weighs both equally, with the first ranks counting most.
FUSION = {"en": (0.8, 10), "nl": (0.3, 60), None: (0.5, 10)}
# Other names of the region's municipalities, as questions write them.
PLACE_ALIASES = (
    "The Hague",
    "Hague",
    "'s-Gravenhage",
    "Capelle",
    "Krimpen",
    "Leidschendam",
    "Voorburg",
    "Pijnacker",
    "Nootdorp",
    "Voorne",
    "BAR",
)
# Values calibrated per embedder (by `name`), overriding the defaults above and the
# embedder's own attributes; the lead switches the default model without touching them.
TUNED: dict[str, dict] = {
    # Structure: `KB_HOME=STORE python bench/guide_sweep.py corpus/eval/dev.yaml
    # corpus/eval/questions.yaml` (158 answerable; never test.yaml), grid weight 0-3 x
    # blocks 2-3 x facet bonus 1-6; rule: best R@5, then R@1, no project or strategy
    # question lost; route_facts by `--only` with both values. No answer: `python
    # bench/noanswer_sweep.py <same sets> --max-refused 4` (answer types on/off x fact_share
    # 0.2-0.5 x window 0-1 x fact_top 1-3 x place_max_df 0-1 x confidence_top 3/15); rule:
    # best F1 of "no answer" refusing at most 4 answerable questions; for e5 then
    # `--grid '{"min_score": [0.81 ... 0.86], ...}'` with the chosen answer-type values.
    # MiniLM's confidence_top 15 follows the structure depth of 10 (not swept after it).
    # e5's absent-words values: the same sweep with `--grid` over absent_min_score 0.55 /
    # 0.86 / 1.01 x max_absent 0.3-0.5 (and absent df 1-10, common-word exclusion: no gain).
    # Figures: docs/bench-retrieval.md.
    "all-MiniLM-L6-v2": {
        "structure_weight": 3.0,
        "top_blocks": 2,
        "facet_bonus": 6.0,
        "confidence_top": 15,
        "fact_share": 0.2,
        "fact_window": 1,
        "fact_top": 2,
        "place_max_df": 1,
    },
    "multilingual-e5-small": {
        "structure_weight": 3.0,
        "top_blocks": 3,
        "facet_bonus": 6.0,
        "route_facts": False,
        "min_score": 0.82,
        "confidence_top": 15,
        "fact_share": 0.2,
        "fact_window": 0,
        "fact_top": 1,
        "place_max_df": 1,
        # e5's cosines lie high (0.8-0.9): the absent-words rule needs its own ceiling
        "absent_min_score": 0.86,
        "max_absent": 0.5,
        # position 1 at margins 0 / 0.02 cost dev R@1 (0.721 -> 0.574 / 0.662); 0.05 none
        "lead_margin": 0.05,
    },
}
# Candidates a question's search returns before the answer picks its sources: at least
# this many, and four per source asked for.
CANDIDATES = 40
# Depth of each ranking given to the language-aware fusion.
FUSION_DEPTH = 50


def candidates(k: int) -> int:
    """How many hits to retrieve for an answer with k sources."""
    return max(CANDIDATES, 4 * k)


def is_multilingual(embedder: Embedder) -> bool:
    """Does the embedder place Dutch and English in one space (no rendering needed)?"""
    flag = getattr(embedder, "multilingual", None)
    return bool(flag) if flag is not None else "multilingual" in str(embedder.name).lower()


@dataclass(frozen=True)
class RetrievalConfig:
    """How questions are searched and when one has no answer. Frozen: a variant for an
    evaluation or a benchmark is a new object (`Retriever.configured`)."""

    mode: str = "hybrid"  # dense | bm25 | hybrid
    min_score: float = DEFAULT_MIN_SCORE
    min_coverage: float = DEFAULT_MIN_COVERAGE
    max_absent: float | None = DEFAULT_MAX_ABSENT  # None: no absent-words check
    absent_min_score: float = ABSENT_MIN_SCORE  # the absent-words rule only below this cosine
    fusion: Mapping = field(default_factory=lambda: dict(FUSION))
    # Cross-lingual help from the Dutch-English glossary (index/glossary.py): BM25 adds the
    # translations of the query's words; for an English-only model a Dutch query is also
    # embedded in a word-for-word English rendering (both vectors combined), and an English
    # query's fusion lets BM25 lead on Dutch chunks (docs/benchmarks.md).
    expand: bool = True
    translate: bool = True
    split_fusion: bool = True
    # The guide's structure as one more ranking in a hybrid search (kb/structure.py): its
    # weight against the chunk ranking's 1 (0: off), its RRF constant, how many building
    # blocks' sections join it, and how much an asked facet (kb/routing.py) raises a section.
    structure_weight: float = 0.0
    # A question asking for a specific fact (kb/answer_type.py: an amount, a number, a date,
    # a name) is routed to the guide's structure too only when this is True.
    route_facts: bool = True
    structure_rrf: int = 10
    # With the structure: the chunk ranking's best passage, when no guide section and
    # closer (cosine) to the question than every guide section, stays second, and first
    # when this much closer (None: the structure decides alone). Found on dev + the old
    # set, where it changes nothing; it serves documents added after the tuning.
    lead_margin: float | None = None
    structure_depth: int = 10  # sections in that ranking: the chunk ranking's best follow
    top_blocks: int = 2
    facet_bonus: float = 1.0
    # Answer types (kb/answer_type.py): a question asking for an amount, number, date or
    # name is answered only when one of the `fact_top` best hits holds such a fact within
    # `fact_window` sentences of `fact_share` of its subject words; a place in the question
    # that is no municipality of the region and in at most `place_max_df` chunks: no answer.
    answer_types: bool = True
    # The cosine and term-coverage checks of `confident` read the three sources and the
    # first `confidence_top` candidates (the guide's structure can lift a section above the
    # passage the cosine liked best, which is still among the candidates).
    confidence_top: int = 3
    fact_share: float = 0.5
    fact_window: int = 1
    fact_top: int = 3
    place_max_df: int | None = 0  # None: no place check

    @classmethod
    def for_embedder(cls, embedder: Embedder, min_score: float | None = None) -> RetrievalConfig:
        """The defaults, with the embedder's own threshold and fusion weights where it
        brings them (index/embedder.py); an explicit `min_score` (KB_MIN_SCORE) wins."""
        english_only = not is_multilingual(embedder)
        own_min = getattr(embedder, "min_score", None)
        tuned = dict(TUNED.get(str(embedder.name), {}))
        own_min = tuned.pop("min_score", own_min)
        return cls(
            min_score=min_score if min_score is not None else (own_min or DEFAULT_MIN_SCORE),
            fusion=getattr(embedder, "fusion", None) or dict(FUSION),
            translate=english_only,
            split_fusion=english_only,
            **tuned,
        )


class Retriever:
    """Searches the store for a question and judges whether the best hits answer it."""

    def __init__(self, store: Store, embedder: Embedder, catalogue: Catalogue,
                 config: RetrievalConfig):  # fmt: skip
        self.store = store
        self.embedder = embedder
        self.catalogue = catalogue
        self.config = config
        self._rendered: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.guide = GuideStructure(store, catalogue.cache)

    def configured(self, **changes) -> Retriever:
        """A retriever over the same store with some settings changed."""
        return Retriever(self.store, self.embedder, self.catalogue,
                         dataclasses.replace(self.config, **changes))  # fmt: skip

    def analyse(self, text: str) -> Query:
        return analyse(text, glossary())

    def embed(self, query: Query) -> np.ndarray:
        return self.embedder.embed_queries([query.text])[0]

    def retrieve(
        self,
        query: Query | str,
        k: int = 10,
        filters: Filters | None = None,
        mode: str | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The k best chunks for a query (hybrid by default: dense + BM25, fused by rank).

        Args:
            vector: the query's embedding when the caller already has it.
        """
        q = query if isinstance(query, Query) else self.analyse(query)
        cfg = self.config
        mode = mode or cfg.mode
        if vector is None and mode != "bm25":
            vector = self.embed(q)
        weight, rrf_k = cfg.fusion.get(q.language, (0.5, 60))
        if vector is not None and cfg.translate and q.language == "nl":
            vector = self.with_english(q, vector)
        expansion = q.expansion if cfg.expand and mode != "dense" else ()
        if mode == "hybrid" and cfg.split_fusion and q.language == "en":
            hits = self._fuse_by_language(q, vector, k, filters, weight, rrf_k, expansion)
        else:
            hits = self.store.search(vector, k, filters, text=q.text, mode=mode,  # type: ignore[arg-type]
                                     dense_weight=weight, rrf_k=rrf_k, expansion=expansion)  # fmt: skip
        if mode == "hybrid" and cfg.structure_weight > 0 and self.routes_to_guide(q, filters):
            hits = self._with_structure(q, vector, k, filters, hits, weight, rrf_k, expansion)
        return hits

    def routes_to_guide(self, q: Query, filters: Filters | None) -> bool:
        """Is this a question for the guide's advice, in a search that may return the
        guide (no municipality filter, no other kind)?"""
        f = filters or Filters()
        if f.municipality or (f.kind and f.kind != "guide"):
            return False
        if not self.config.route_facts and answer_type.asked_type(q.text):
            return False
        if self.names_something_else(q) or self.defines_something_else(q):
            return False
        return routing.guide_like(q.text, self.place_names())

    def defines_something_else(self, q: Query) -> bool:
        """Does the question ask what something is ("Wat is Common Ground?") that is no
        building block? The guide's purpose sections say what a block is about, so they are
        the answer only to a question about a block ("Wat houdt datamanagement in?")."""
        if set(routing.facets(q.text)) != {"purpose"}:
            return False
        blocks = self.catalogue.building_blocks()
        return not (routing.block_named(q.text, blocks)
                    or (q.english and routing.block_named(q.english, blocks)))  # fmt: skip

    def names_something_else(self, q: Query) -> bool:
        """Does the question name something the guide never mentions but another document
        does (a capitalised name after the first word: "Klantcontactcentrum
        Zeemanskwartier")? Then it asks about that document, not for the guide's advice."""
        names = [w for w in re.findall(r"[^\W\d_]{4,}", q.text)[1:] if w[0].isupper()]
        if not names:
            return False
        guide = self.guide_words()
        return any(w.lower() not in guide and self.store.bm25.doc_freq(t) > 0
                   for w in names for t in tokens(w))  # fmt: skip

    def guide_words(self) -> set[str]:
        """Every word of the guide, lower-cased (cached until the store changes)."""

        def build() -> set[str]:
            out: set[str] = set()
            for doc in self.store.documents(kind="guide"):
                for c in self.store.chunks_of(doc.id):
                    out |= set(re.findall(r"[^\W\d_]+", c.text.lower()))
            return out

        return self.catalogue.cache.get("guide_words", self.store.generation, build)

    def _with_structure(self, q: Query, vector, k: int, filters: Filters | None,
                        hits: list[Hit], weight: float, rrf_k: int, expansion) -> list[Hit]:  # fmt: skip
        """The chunk ranking fused with the guide's section ranking (kb/structure.py)."""
        cfg = self.config
        guide_filter = dataclasses.replace(filters or Filters(), kind="guide")
        guide_hits = self.store.search(vector, FUSION_DEPTH, guide_filter, text=q.text,
                                       mode="hybrid", dense_weight=weight, rrf_k=rrf_k,
                                       expansion=expansion)  # fmt: skip
        if not guide_hits:
            return hits
        blocks = self.catalogue.building_blocks()
        named = routing.block_named(q.text, blocks) or (
            routing.block_named(q.english, blocks) if q.english else None)  # fmt: skip
        order = self.guide.ranking(guide_hits, routing.facets(q.text), cfg.top_blocks,
                                   cfg.facet_bonus, limit=cfg.structure_depth,
                                   named=named)  # fmt: skip
        # Sections join the ranking by their block, not by a search: only those the
        # filters let through (the viewer's access, a date) may.
        allowed = self.store.allowed_rowids(guide_filter)
        if allowed is not None:
            passing = set(allowed.tolist())
            order = [r for r in order if r in passing]
        fused = rrf([[h.chunk.rowid for h in hits], order], k=cfg.structure_rrf,  # type: ignore[misc]
                    weights=(1.0, cfg.structure_weight))[:k]  # fmt: skip
        known = {h.chunk.rowid: h for h in hits + guide_hits}
        missing = [r for r, _ in fused if r not in known]
        if missing:
            rows = self.store.chunks(missing)
            vecs = self.store.vectors_of(missing)
            for r, v in zip(missing, vecs, strict=True):
                if r in rows:
                    cos = (
                        float(np.dot(v, np.asarray(vector).ravel())) if vector is not None else 0.0
                    )
                    known[r] = Hit(rows[r], 0.0, cos, 0.0)
        out = [Hit(known[r].chunk, s, known[r].dense, known[r].lexical)
               for r, s in fused if r in known]  # fmt: skip
        return self._keep_best(hits, guide_hits, out)

    def _keep_best(self, hits: list[Hit], guide_hits: list[Hit], out: list[Hit]) -> list[Hit]:
        """The chunk ranking's best passage, when it is no guide section and closer to the
        question than every guide section, second in `out`; first when `lead_margin`
        closer. A question about a document someone just added ("Hoe werkt zaakgericht
        werken?") is then not drowned in guide sections."""
        margin = self.config.lead_margin
        if margin is None or not hits or hits[0].chunk.kind == "guide":
            return out
        best, guide_best = hits[0], max(h.dense for h in guide_hits)
        if best.dense < guide_best:
            return out
        pos = 0 if best.dense >= guide_best + margin else 1
        if any(h.chunk.rowid == best.chunk.rowid for h in out[: pos + 1]):
            return out
        out = [h for h in out if h.chunk.rowid != best.chunk.rowid]
        out.insert(pos, best)
        return out

    def place_names(self) -> set[str]:
        """The municipalities' names as people write them (with the English and short
        forms the region uses)."""
        return self.catalogue.cache.get(
            "place_names", self.store.manifest_value("municipalities"),
            lambda: {str(m.get("name", "")) for m in self.catalogue.municipalities()
                     if m.get("id") != "regional"} | set(PLACE_ALIASES),
        )  # fmt: skip

    def _fuse_by_language(self, q: Query, vector, k: int, filters: Filters | None,
                          weight: float, rrf_k: int, expansion) -> list[Hit]:  # fmt: skip
        """Hybrid fusion of an English query for an English-only model, whose weights also
        follow each chunk's language: the model cannot read a Dutch chunk, so where BM25
        found one through the glossary's Dutch translations of the query, BM25 gets the
        dense ranking's weight and vice versa. An all-English corpus (BEIR) is fused as
        `Store.search` does."""
        depth = max(k, FUSION_DEPTH)
        dense = self.store.search(vector, depth, filters, mode="dense")
        lexical = self.store.search(vector, depth, filters, text=q.text, mode="bm25",
                                    expansion=expansion)  # fmt: skip
        best: dict[int, Hit] = {}
        for h in dense + lexical:
            best.setdefault(h.chunk.rowid, h)  # type: ignore[arg-type]
        lex_score = {h.chunk.rowid: h.lexical for h in lexical}
        wanted = set(expansion)
        bridged = {h.chunk.rowid for h in lexical if wanted & terms(h.chunk.embed_text)}

        def swapped(rowid: int) -> bool:
            return rowid in bridged and best[rowid].chunk.language == "nl"

        dense_ids = [h.chunk.rowid for h in dense]
        lexical_ids = [h.chunk.rowid for h in lexical]
        ranked = fuse(dense_ids, lexical_ids, weight, rrf_k, swapped=swapped)[:k]  # type: ignore[arg-type]
        return [Hit(best[r].chunk, s, best[r].dense, lex_score.get(r, 0.0)) for r, s in ranked]

    def with_english(self, q: Query, vector: np.ndarray) -> np.ndarray:
        """The query's vector combined with that of its glossary rendering in English."""
        if not q.english:
            return vector
        with self._lock:
            rendered = self._rendered.get(q.english)  # a small cache: ask() retrieves twice
        if rendered is None:
            rendered = self.embedder.embed_queries([q.english])[0]
            with self._lock:
                if len(self._rendered) > 256:
                    self._rendered.clear()
                self._rendered[q.english] = rendered
        both = np.asarray(vector, dtype=np.float32) + rendered
        return both / (np.linalg.norm(both) or 1.0)

    # ---- the "no answer" decision ---------------------------------------------------------
    def confident(self, query: Query | str, hits: list[Hit],
                  pool: list[Hit] | None = None) -> bool:  # fmt: skip
        """Is the best of these hits relevant enough to answer from?

        Either the embedding model finds it close enough, or it holds most of the
        question's content words (the English-trained model scores Dutch text low); and the
        kind of fact it asks for is there (`fact_present`).

        Args:
            hits: the sources chosen for the answer, best first.
            pool: the candidates they were chosen from (the cosine may have liked one of
                them best); the sources alone when not given.
        """
        if not hits:
            return False
        q = query if isinstance(query, Query) else self.analyse(query)
        cfg = self.config
        if not self.fact_present(q, hits):
            return False
        top = hits[:3]
        # The absent-words rule reads the sources, as it was calibrated; the cosine rule
        # also the first candidates.
        if (cfg.max_absent is not None and max(h.dense for h in top) < cfg.absent_min_score
                and self.absent_share(q, top) >= cfg.max_absent):  # fmt: skip
            return False
        near = top + list(pool or hits)[: cfg.confidence_top]
        best = max(h.dense for h in near)
        if best >= cfg.min_score:
            return True
        if len(q.terms) < 2:
            return False
        coverage = max(len(q.terms & terms(h.chunk.embed_text)) / len(q.terms) for h in near)
        return coverage >= cfg.min_coverage

    def fact_present(self, q: Query, hits: list[Hit]) -> bool:
        """False when the question asks for a kind of fact none of the best hits holds near
        its subject, or names a place outside the region (kb/answer_type.py)."""
        cfg = self.config
        if cfg.place_max_df is not None and answer_type.unknown_places(
            q.text, self.place_names(), self.store.bm25.doc_freq, cfg.place_max_df
        ):
            return False
        kind = answer_type.asked_type(q.text) if cfg.answer_types else None
        if kind is None:
            return True
        subject = answer_type.subject_words(q.text, self.place_names())
        for h in hits[: cfg.fact_top]:
            if answer_type.fact_near_subject(kind, h.chunk.text, subject, cfg.fact_share,
                                             cfg.fact_window, self.record_facts(h)):  # fmt: skip
                return True
        return False

    def record_facts(self, hit: Hit) -> str:
        """A project's budget and years from its record, as text (they are not in the
        chunk): a budget question about a project is answered from them."""
        if not hit.chunk.project_id:
            return ""
        p = self.catalogue.project(hit.chunk.project_id) or {}
        parts = [f"budget € {p['budget_eur']}" if p.get("budget_eur") else "",
                 f"{p.get('start_year', '')} {p.get('end_year') or ''}".strip()]  # fmt: skip
        return " ".join(x for x in parts if x)

    def absent_share(self, query: Query | str, hits: list[Hit]) -> float:
        """Share of the question's informative words that none of the hits holds and the
        corpus hardly knows (kb/novelty.py); 0 for a question without such words."""
        text = query.text if isinstance(query, Query) else query
        names = self._names()
        words = novelty.informative_words(text, names)
        if not words:
            return 0.0
        passages = [h.chunk.embed_text for h in hits]
        missing = novelty.unmatched_words(text, passages, self.store.bm25.doc_freq,
                                          ABSENT_MAX_DF, names)  # fmt: skip
        return len(missing) / len(words)

    def _names(self) -> set[str]:
        """The words of the municipalities' names and ids: never informative."""
        return self.catalogue.cache.get(
            "names", self.store.manifest_value("municipalities"),
            lambda: {w for m in self.catalogue.municipalities()
                     for w in re.findall(r"[^\W_]+",
                                         f"{m.get('name', '')} {m.get('id', '')}".lower())},
        )  # fmt: skip
