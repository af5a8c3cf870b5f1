"""The KnowledgeBase facade: wires the store, the embedder and small services; the CLI and
the app only call this (and the services it exposes)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from index.embedder import Embedder, make_embedder
from index.store import DocumentRow, Filters, Hit, Store
from kb.access import Accounts, Backoff, Viewer
from kb.answer import Answer
from kb.asking import Answerer
from kb.cache import Derived
from kb.catalogue import Catalogue
from kb.followup import Turn
from kb.ingesting import Ingestor
from kb.llm import LlmConfig
from kb.projects import ProjectFinder
from kb.records import IngestResult, SimilarProject
from kb.retrieval import RetrievalConfig, Retriever
from kb.settings import Settings
from kb.tagging import BlockTagger


class KnowledgeBase:
    """Documents in, cited answers and comparable projects out.

    Args:
        home: the data folder (the settings' home by default).
        embedder: the embedder (the settings' model by default); loaded on first use.
        check_model: False to open a store built with another model (stats, reindex).
        settings: every setting, read once by the caller (`Settings.from_env()` at the
            edges); the defaults when not given.
    """

    def __init__(self, home: Path | None = None, embedder: Embedder | None = None,
                 check_model: bool = True, settings: Settings | None = None):  # fmt: skip
        self.settings = settings or Settings()
        self.home = Path(home) if home else self.settings.home
        self.embedder = embedder or make_embedder(self.settings.embed_model)
        self.store = Store(
            self.home,
            (self.embedder.name, self.embedder.dim, self.embedder.fingerprint),
            check_model=check_model,
            flat_max=self.settings.flat_max,
        )
        self.cache = Derived()
        self.lock = threading.Lock()  # every write to the store holds it
        self.catalogue = Catalogue(self.store, self.cache)
        self.tagger = BlockTagger(self.store, self.embedder, self.cache)
        self.ingestor = Ingestor(self.home, self.store, self.embedder, self.tagger,
                                 self.catalogue, self.settings, self.lock)  # fmt: skip
        config = RetrievalConfig.for_embedder(self.embedder, self.settings.min_score)
        self.retriever = Retriever(self.store, self.embedder, self.catalogue, config)
        self.finder = ProjectFinder(self.store, self.embedder, self.catalogue, config.mode)
        s = self.settings
        self.llm = LlmConfig.from_values(s.llm_url, s.llm_model, s.llm_api_key, s.llm_timeout)
        self.accounts = Accounts(self.store, self.settings.auth, self.settings.session_hours,
                                 Backoff(self.settings.login_delay))  # fmt: skip

    @classmethod
    def from_env(cls, check_model: bool = True) -> KnowledgeBase:
        """The knowledge base the environment's settings describe (the CLI and the app)."""
        return cls(check_model=check_model, settings=Settings.from_env())

    # ---- ingest ---------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path | str], *, kind: str | None = None,
               municipality: str | None = None, password: str | None = None,
               on_result: Callable[[IngestResult], None] | None = None,
               progress: bool = False, visibility: str = "regional",
               viewer: Viewer | None = None) -> list[IngestResult]:  # fmt: skip
        """Ingest files and folders; one result per file (or per catalogue record).

        Args:
            visibility: 'regional' (everyone) or 'municipality' (its municipality's users).
            viewer: who adds them (None: the local user). An editor adds documents of their
                own municipality only; a reader none (kb.access.AccessDenied).
        """
        return self.ingestor.ingest(paths, kind=kind, municipality=municipality,
                                    password=password, on_result=on_result,
                                    progress=progress, visibility=visibility,
                                    viewer=Viewer.resolve(viewer))  # fmt: skip

    def set_title(self, document_id: str, title: str,
                  viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        """Give a document (id or unique prefix) the title users recognise; None if absent."""
        return self.ingestor.set_title(document_id, title, Viewer.resolve(viewer))

    def remove(self, document_id: str, viewer: Viewer | None = None) -> DocumentRow | None:
        """Remove a document by id (a unique prefix of at least 8 characters will do)."""
        return self.ingestor.remove(document_id, Viewer.resolve(viewer))

    def set_visibility(self, document_id: str, visibility: str,
                       viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        """Make a document regional or municipality-only; the document as it was, or None."""
        return self.ingestor.set_visibility(document_id, visibility, Viewer.resolve(viewer))

    def resolve_document(self, document_id: str,
                         viewer: Viewer | None = None) -> DocumentRow | None:  # fmt: skip
        return self.ingestor.resolve_document(document_id, Viewer.resolve(viewer))

    def audit(self, viewer: Viewer | None = None) -> list[dict]:
        """Who added, replaced, removed or re-scoped which document when (oldest first)."""
        return self.store.audit(Viewer.resolve(viewer).filters())

    def reindex(self, progress: bool = False) -> int:
        """Re-chunk and re-embed every document with the current model; returns the count."""
        return self.ingestor.reindex(progress=progress)

    # ---- questions ------------------------------------------------------------------------
    def ask(self, question: str, municipality: str | None = None, kind: str | None = None,
            k: int = 5, building_block: str | None = None,
            history: Sequence[Turn | dict] | None = None, since: int | None = None,
            viewer: Viewer | None = None) -> Answer:  # fmt: skip
        """A cited answer in the question's language, or an honest 'no answer', from what the
        viewer may see (None: everything); `history` holds the conversation's earlier turns
        (a follow-up is resolved against them)."""
        return self.answerer.ask(question, municipality=municipality, kind=kind, k=k,
                                 building_block=building_block, history=history,
                                 since=since, viewer=viewer)  # fmt: skip

    def ask_stream(self, question: str, municipality: str | None = None,
                   kind: str | None = None, k: int = 5, building_block: str | None = None,
                   history: Sequence[Turn | dict] | None = None, since: int | None = None,
                   viewer: Viewer | None = None) -> Iterator[Answer]:  # fmt: skip
        """`ask` as a configured language model writes it: the answer again after each
        checked sentence, the last one finished (see `Answerer.stream`)."""
        return self.answerer.stream(question, municipality=municipality, kind=kind, k=k,
                                    building_block=building_block, history=history,
                                    since=since, viewer=viewer)  # fmt: skip

    @property
    def answerer(self) -> Answerer:
        """Answers with the retriever in use now (a variant set by an evaluation too)."""
        return Answerer(self.store, self.retriever, self.catalogue, self.llm)

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None,
                 mode: str | None = None,
                 vector: np.ndarray | None = None) -> list[Hit]:  # fmt: skip
        """The k best chunks for a query (hybrid by default)."""
        return self.retriever.retrieve(query, k=k, filters=filters, mode=mode, vector=vector)

    # ---- projects and the region ----------------------------------------------------------
    def similar(self, text: str | None = None, project_id: str | None = None,
                exclude_municipality: str | None = None, k: int = 5,
                themes: Iterable[str] | None = None, stage: str | None = None,
                status: str | None = None,
                viewer: Viewer | None = None) -> list[SimilarProject]:  # fmt: skip
        """Comparable projects for a free text or for a project (kb.projects)."""
        return self.finder.similar(text=text, project_id=project_id,
                                   exclude_municipality=exclude_municipality, k=k,
                                   themes=themes, stage=stage, status=status,
                                   viewer=viewer)  # fmt: skip

    def project(self, project_id: str, viewer: Viewer | None = None) -> dict | None:
        return self.catalogue.project(project_id, viewer)

    def projects(self, viewer: Viewer | None = None) -> list[dict]:
        """The project records this viewer may see (the map and collaborations use these)."""
        return self.catalogue.projects(viewer)

    def municipalities(self) -> list[dict]:
        return self.catalogue.municipalities()

    def municipality_name(self, mid: str | None) -> str:
        return self.catalogue.municipality_name(mid)

    def building_blocks(self) -> dict[str, dict]:
        return self.catalogue.building_blocks()

    # ---- overview -------------------------------------------------------------------------
    def documents(self, kind: str | None = None,
                  viewer: Viewer | None = None) -> list[DocumentRow]:  # fmt: skip
        return self.store.documents(kind=kind, filters=Viewer.resolve(viewer).filters())

    def document(self, document_id: str, viewer: Viewer | None = None) -> DocumentRow | None:
        return self.store.document(document_id, Viewer.resolve(viewer).filters())

    def chunk_counts(self, viewer: Viewer | None = None) -> dict[str, int]:
        """Number of chunks per document id."""
        return self.store.chunk_counts(Viewer.resolve(viewer).filters())

    def stats(self, viewer: Viewer | None = None) -> dict:
        """Counts of what the viewer may see, the model and the index."""
        viewer = Viewer.resolve(viewer)
        m = self.store.manifest()
        out = {
            **self.store.counts(viewer.filters()),
            "model": m.get("model"),
            "dimension": int(m.get("dim", 0)),
            "index": self.store.vectors.kind,
            "home": str(self.home),
        }
        if viewer.sees_all:  # the generation moves with hidden writes too
            out["generation"] = int(m.get("generation", 0))
        return out

    def close(self) -> None:
        self.store.close()
