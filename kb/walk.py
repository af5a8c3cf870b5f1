"""Which files an ingest of paths means, and what kind each file is."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from ingest.loader import SUPPORTED

KIND_FOLDERS = {
    "guide": "guide", "gids": "guide", "handreiking": "guide",
    "strategies": "strategy", "strategy": "strategy", "strategieen": "strategy",
    "projects": "project", "projecten": "project",
}  # fmt: skip
IGNORE_FILE = ".kbignore"


@dataclass(frozen=True)
class Item:
    path: Path
    kind: str | None  # from the folder it sits in; None when nothing says


def _ignored(rel: str, patterns: list[str]) -> bool:
    for p in patterns:
        p = p.strip()
        if not p or p.startswith("#"):
            continue
        if p.endswith("/"):
            if rel.startswith(p) or f"/{p}" in f"/{rel}":
                return True
        elif fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(Path(rel).name, p):
            return True
    return False


def kind_from_path(rel: Path) -> str | None:
    for part in rel.parts[:-1]:
        k = KIND_FOLDERS.get(part.lower())
        if k:
            return k
    return None


def expand(paths: list[Path]) -> list[Item]:
    """Files to ingest: files as given; folders walked (hidden files and .kbignore skipped)."""
    items: list[Item] = []
    for path in paths:
        if not path.is_dir():
            items.append(Item(path, kind_from_path(Path(path.parent.name) / path.name)))
            continue
        ignore = path / IGNORE_FILE
        patterns = ignore.read_text().splitlines() if ignore.is_file() else []
        for f in sorted(path.rglob("*")):
            rel = f.relative_to(path)
            if not f.is_file() or any(p.startswith(".") for p in rel.parts):
                continue
            if f.suffix.lower() not in SUPPORTED or _ignored(rel.as_posix(), patterns):
                continue
            # The walked folder's own name counts too: `kb ingest corpus/guide` is the guide.
            items.append(Item(f, kind_from_path(rel) or kind_from_path(Path(path.name) / rel)))
    return items
