"""One entry point: a file in, Documents (and per-record errors) out. Type by content."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest import projects as proj
from ingest.errors import IngestError
from ingest.lang import detect_language
from ingest.markdown import parse_markdown
from ingest.ocr import OcrConfig
from ingest.pdf import read_pdf
from ingest.records import Document, sha256_hex
from ingest.worker import read_pdf_isolated

MARKDOWN_SUFFIXES = {".md", ".markdown"}
YAML_SUFFIXES = {".yaml", ".yml"}
SUPPORTED = MARKDOWN_SUFFIXES | YAML_SUFFIXES | {".pdf", ".csv"}


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    errors: list[proj.RecordError] = field(default_factory=list)


def sniff(path: Path, head: bytes) -> str:
    """'pdf', 'markdown', 'yaml' or 'csv', decided by the bytes where the name could lie."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        if not head.strip():
            raise IngestError("empty file")
        raise IngestError("not a PDF (no %PDF header)")
    if b"\x00" in head:
        raise IngestError("binary file of an unsupported type")
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix == ".csv":
        return "csv"
    raise IngestError(f"unsupported file type '{suffix or path.name}'")


def _language(declared: object, text: str) -> str | None:
    if declared in ("nl", "en"):
        return str(declared)
    return detect_language(text)


def load_file(
    path: Path,
    *,
    kind: str = "other",
    municipality: str | None = None,
    password: str | None = None,
    max_pages: int = 3000,
    data: bytes | None = None,
    pdf_timeout: float = 0,
    pdf_memory_mb: int = 0,
    ocr: bool = True,
    ocr_threads: int = 1,
) -> Loaded:
    """Parse one file. Raises IngestError when the whole file is unusable.

    Args:
        pdf_timeout: above 0, PDF text is read in a worker process that is killed after
            this many seconds (and capped at `pdf_memory_mb` MB when that is above 0).
        ocr: read PDF pages without a usable text layer with tesseract (Dutch and English).
        ocr_threads: tesseract's threads per page (its OMP_THREAD_LIMIT).
    """
    data = path.read_bytes() if data is None else data
    ftype = sniff(path, data[:2048])
    key = str(path.resolve())
    if ftype == "pdf":
        ocr_config = OcrConfig(threads=ocr_threads) if ocr else None
        if pdf_timeout > 0:
            pdf = read_pdf_isolated(path, password=password, max_pages=max_pages,
                                    timeout=pdf_timeout, memory_mb=pdf_memory_mb,
                                    ocr=ocr_config)  # fmt: skip
        else:
            pdf = read_pdf(path, password=password, max_pages=max_pages, ocr=ocr_config)
        text = "\n".join(s.text for s in pdf.segments)
        first_line = next((ln for ln in pdf.segments[0].text.split("\n") if len(ln) > 3), "")
        doc = Document(
            id=sha256_hex(data),
            key=key,
            source=path.name,
            title=pdf.title or first_line[:120] or path.stem,
            kind=kind,
            segments=tuple(pdf.segments),
            municipality=municipality or pdf.info.get("/Municipality") or None,
            language=_language(pdf.info.get("/Language"), text),
            pages=pdf.pages,
            meta={"ocr_pages": pdf.ocr_pages} if pdf.ocr_pages else {},
        )
        return Loaded([doc])
    if ftype == "markdown":
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise IngestError("Markdown is not UTF-8 text") from e
        md = parse_markdown(raw)
        if not md.segments:
            raise IngestError("no text")
        fm = md.front_matter
        text = "\n".join(s.text for s in md.segments)
        meta = {"blocks": [b.__dict__ for b in md.blocks]} if md.blocks else {}
        doc = Document(
            id=sha256_hex(data),
            key=key,
            source=path.name,
            title=str(md.title or path.stem),
            kind=str(fm.get("kind") or kind),
            segments=tuple(md.segments),
            municipality=municipality or fm.get("municipality"),
            language=_language(fm.get("language"), text),
            meta=meta,
        )
        return Loaded([doc])
    records = proj.load_csv(path) if ftype == "csv" else proj.load_yaml(path)
    out = Loaded()
    for r in records:
        if isinstance(r, proj.RecordError):
            out.errors.append(r)
        else:
            out.documents.append(r.to_document(source=path.name))
    return out
