"""Typed records produced by ingest: a Document made of Segments, cut into Chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

KINDS = ("guide", "strategy", "project", "other")


@dataclass(frozen=True)
class Segment:
    """A unit of citation: one PDF page (1-based) or one Markdown section."""

    text: str
    page: int | None = None
    section: str | None = None
    building_blocks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    id: str  # sha256 of the file's bytes, or of the canonical record
    key: str  # identity across versions: the file path, or "project:<id>"
    source: str  # file name shown to users
    title: str
    kind: str
    segments: tuple[Segment, ...]
    municipality: str | None = None
    language: str | None = None
    pages: int | None = None
    project_id: str | None = None
    building_blocks: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Chunk:
    id: str
    document_id: str
    position: int
    text: str
    kind: str
    page: int | None = None
    section: str | None = None
    municipality: str | None = None
    language: str | None = None
    project_id: str | None = None
    building_blocks: tuple[str, ...] = ()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(document_id: str, position: int, text: str) -> str:
    return sha256_hex(f"{document_id}\x00{position}\x00{text}".encode())
