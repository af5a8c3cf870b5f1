"""Headings and paragraphs in reading order to section segments (Word, OpenDocument)."""

from __future__ import annotations

from ingest.records import Segment
from ingest.text import normalize


class SectionBuilder:
    """Collects text under the current heading path ("Chapter > Section"), as Markdown does."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self.segments: list[Segment] = []
        self.first_heading: str | None = None

    def heading(self, level: int, text: str) -> None:
        """Start a section at `level` (1 = top); deeper open sections close."""
        text = " ".join(text.split())
        if not text:
            return
        self._flush()
        if self.first_heading is None:
            self.first_heading = text
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, text))

    def text(self, text: str) -> None:
        """A paragraph (or a table row) of the current section."""
        text = normalize(text)
        if text:
            self._buf.append(text)

    def finish(self) -> list[Segment]:
        """The segments, in order; a text before the first heading has no section."""
        self._flush()
        return self.segments

    def _flush(self) -> None:
        body = "\n".join(self._buf).strip()
        self._buf.clear()
        if body:
            section = " > ".join(h for _, h in self._path) or None
            self.segments.append(Segment(text=body, section=section))
