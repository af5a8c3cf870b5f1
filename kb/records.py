"""Records the core hands to the CLI and the app (besides the answer's, in kb/answer.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IngestResult:
    """One line of an ingest report: a file (or a record in a catalogue file)."""

    name: str
    status: str  # added | unchanged | replaced | failed (| pending, inside an ingest)
    reason: str = ""
    document_id: str | None = None
    title: str | None = None
    chunks: int = 0
    # What was left out of a file that was added all the same (sheet rows beyond the limit,
    # scanned pages beyond the OCR time budget): nobody should take a part for the whole.
    note: str = ""

    def line(self) -> str:
        if self.status == "failed":
            return f"failed: {self.name}: {self.reason}"
        extra = [f"{self.chunks} chunks"] if self.chunks else []
        extra += [self.note] if self.note else []
        return f"{self.status}: {self.name}" + (f" ({'; '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class SimilarProject:
    id: str
    title: str
    municipality: str | None
    score: float
    why: str
    shared_building_blocks: list[str] = field(default_factory=list)
    shared_themes: list[str] = field(default_factory=list)
    building_blocks: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    status: str | None = None
    stage: str | None = None
    summary: str = ""
    # The words of a free-text search that the project's title or summary holds (`why` says
    # it in English; the app says it in its own language from these fields).
    matching_words: list[str] = field(default_factory=list)
