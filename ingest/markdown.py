"""Markdown to section segments, keeping the heading path of each section."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from ingest.errors import IngestError
from ingest.records import Segment
from ingest.text import normalize

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ATTR = re.compile(r"\s*\{#([a-z0-9][a-z0-9-]*)\}\s*$")
_STAGE = re.compile(r"^stage:\s*([a-z-]+)\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^(```|~~~)")


@dataclass(frozen=True)
class BlockInfo:
    """A building block declared in a guide: `## Name {#id}` followed by `Stage: x`."""

    id: str
    name: str
    stage: str | None
    text: str


@dataclass(frozen=True)
class MarkdownContent:
    title: str | None
    front_matter: dict
    segments: list[Segment]
    blocks: list[BlockInfo]


def split_front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as e:
        raise IngestError(f"invalid front matter: {str(e).splitlines()[0]}") from e
    if not isinstance(meta, dict):
        meta = {}
    rest = text[end + 4 :]  # after "\n---": drop the rest of that closing line
    return meta, rest.split("\n", 1)[1] if "\n" in rest else ""


def parse_markdown(raw: str) -> MarkdownContent:
    """Sections as segments; each keeps its heading path ("Chapter > Section")."""
    meta, body = split_front_matter(normalize(raw))
    path: list[tuple[int, str, str | None]] = []  # (level, heading, block id)
    segments: list[Segment] = []
    blocks: dict[str, dict] = {}
    buf: list[str] = []
    title = meta.get("title")
    in_fence = False

    def flush() -> None:
        text = "\n".join(buf).strip()
        buf.clear()
        if not text:
            return
        block_ids = tuple(b for _, _, b in path if b)[-1:]
        section = " > ".join(h for _, h, _ in path) or None
        segments.append(Segment(text=text, section=section, building_blocks=block_ids))
        for b in block_ids:
            blocks[b]["text"].append(text)

    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if not m:
            stage = _STAGE.match(line.strip())
            current = next((b for _, _, b in reversed(path) if b), None)
            if stage and current and blocks[current]["stage"] is None:
                blocks[current]["stage"] = stage.group(1).lower()
                continue  # metadata, not text to cite
            buf.append(line)
            continue
        flush()
        level, heading = len(m.group(1)), m.group(2)
        attr = _ATTR.search(heading)
        block_id = attr.group(1) if attr else None
        heading = _ATTR.sub("", heading).strip()
        if title is None and level == 1:
            title = heading
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading, block_id))
        if block_id:
            blocks[block_id] = {"name": heading, "stage": None, "text": []}
    flush()
    infos = [
        BlockInfo(id=k, name=v["name"], stage=v["stage"], text="\n\n".join(v["text"]))
        for k, v in blocks.items()
    ]
    return MarkdownContent(title=title, front_matter=meta, segments=segments, blocks=infos)
