"""Cut documents into chunks measured in the embedding model's own tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.records import Chunk, Document, chunk_id

# Paragraphs first, then sentence ends, then line breaks (PDF lines break mid-sentence),
# then clauses and words; "" is the last resort so that no piece can stay too long.
SEPARATORS = ["\n\n", ". ", "? ", "! ", "\n", "; ", ", ", " ", ""]


class Chunker:
    """Splits a Document's segments into Chunks of at most `max_tokens` model tokens.

    Args:
        count_tokens: the model tokenizer's count for a text (without special tokens).
        max_tokens: the budget for the chunk text itself; the caller keeps room for the
            model's special tokens and any prefix it embeds with the text.
        overlap: tokens shared by neighbouring chunks of one segment.
    """

    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int, overlap: int = 32):
        # The splitter measures the same separators and pieces again and again (tens of
        # thousands of calls for a few PDFs): remember the counts.
        self.count_tokens = lru_cache(maxsize=1 << 16)(count_tokens)
        self.max_tokens = max_tokens
        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            chunk_size=max_tokens,
            chunk_overlap=min(overlap, max_tokens // 4),
            length_function=count_tokens,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split_text(self, text: str) -> list[str]:
        pieces = []
        for piece in self._splitter.split_text(text):
            pieces.extend(self._enforce(piece))
        return [p for p in pieces if p.strip()]

    def _enforce(self, piece: str) -> list[str]:
        # The splitter's merge step can exceed the budget by a separator's worth; cut by
        # words until every piece fits, so nothing is silently truncated by the model.
        if self.count_tokens(piece) <= self.max_tokens:
            return [piece]
        words = piece.split(" ")
        if len(words) == 1:
            half = len(piece) // 2
            return self._enforce(piece[:half]) + self._enforce(piece[half:])
        mid = len(words) // 2
        return self._enforce(" ".join(words[:mid])) + self._enforce(" ".join(words[mid:]))

    def chunk(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for seg in doc.segments:
            blocks = seg.building_blocks or doc.building_blocks
            for text in self.split_text(seg.text):
                pos = len(chunks)
                chunks.append(
                    Chunk(
                        id=chunk_id(doc.id, pos, text),
                        document_id=doc.id,
                        position=pos,
                        text=text,
                        kind=doc.kind,
                        page=seg.page,
                        section=seg.section,
                        municipality=doc.municipality,
                        language=doc.language,
                        project_id=doc.project_id,
                        building_blocks=tuple(blocks),
                    )
                )
        return chunks
