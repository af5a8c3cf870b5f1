"""One entry point: a file in, Documents (and per-record errors) out. Type by content."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest import projects as proj
from ingest.dates import document_date
from ingest.errors import IngestError
from ingest.html import looks_like_html, read_html
from ingest.lang import detect_language
from ingest.markdown import parse_markdown
from ingest.ocr import OcrConfig
from ingest.office import ole_reason, read_docx, read_odt, zip_type
from ingest.pdf import read_pdf
from ingest.plain import decode_text, is_rtf, read_rtf, read_text, utf8_head
from ingest.records import Document, Segment, sha256_hex
from ingest.sheets import csv_header, read_csv_table, read_ods, read_xlsx
from ingest.slides import read_pptx
from ingest.titles import choose_title
from ingest.worker import read_pdf_isolated

MARKDOWN_SUFFIXES = {".md", ".markdown"}
YAML_SUFFIXES = {".yaml", ".yml"}
HTML_SUFFIXES = {".html", ".htm"}
OFFICE_SUFFIXES = {".docx", ".odt", ".pptx", ".xlsx", ".ods"}
TEXT_SUFFIXES = {".txt"}
SUPPORTED = (MARKDOWN_SUFFIXES | YAML_SUFFIXES | HTML_SUFFIXES | OFFICE_SUFFIXES
             | TEXT_SUFFIXES | {".pdf", ".csv", ".rtf"})  # fmt: skip
_OFFICE_NAMES = {".docx": "a Word document", ".odt": "an OpenDocument file",
                 ".pptx": "a PowerPoint file", ".xlsx": "an Excel workbook",
                 ".ods": "an OpenDocument spreadsheet"}  # fmt: skip
# The old binary formats are not read, but named, so that the one line says what to do.
_OLD_BINARY = {".doc": ".docx", ".ppt": ".pptx", ".xls": ".xlsx"}
# The readers that turn a file's bytes into OfficeContent, by the type `detect_type` found
# ('table': a CSV file that is no project list).
# A project list's header may have a title or a note above it, within this many rows.
HEADER_ROWS = 5
_READERS = {"docx": read_docx, "odt": read_odt, "pptx": read_pptx, "xlsx": read_xlsx,
            "ods": read_ods, "html": read_html, "text": read_text, "rtf": read_rtf,
            "table": read_csv_table}  # fmt: skip


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    errors: list[proj.RecordError] = field(default_factory=list)


def sniff(path: Path, head: bytes) -> str:
    """'pdf', 'zip', 'html', 'rtf', 'markdown', 'text', 'yaml' or 'csv', decided by the bytes
    where the name could lie ('zip' is told apart into 'docx', 'pptx', 'xlsx', 'odt' or
    'ods' by `detect_type`). Text with a UTF-16 or UTF-32 byte-order mark is sniffed as its text."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if suffix == ".pdf":
        if not head.strip():
            raise IngestError("empty file")
        raise IngestError("not a PDF (no %PDF header)")
    if suffix in OFFICE_SUFFIXES:
        if not head.strip():
            raise IngestError("empty file")
        raise IngestError(f"not {_OFFICE_NAMES[suffix]} (not a zip file)")
    head = utf8_head(head)
    if b"\x00" in head:
        raise IngestError("binary file of an unsupported type")
    if looks_like_html(head):
        return "html"
    if is_rtf(head):
        return "rtf"
    if suffix == ".rtf":
        if not head.strip():
            raise IngestError("empty file")
        raise IngestError("not an RTF file (no {\\rtf header)")
    if suffix in HTML_SUFFIXES:
        if not head.strip():
            raise IngestError("empty file")
        return "html"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix == ".csv":
        return "csv"
    if suffix in TEXT_SUFFIXES:
        return "text"
    raise IngestError(f"unsupported file type '{suffix or path.name}'")


def detect_type(path: Path, data: bytes) -> str:
    """`sniff`, with a zip told apart by its members into 'docx', 'pptx', 'xlsx', 'odt' or
    'ods'. An encrypted Office file, or an old binary one (.doc, .ppt, .xls), is named so.

    Raises:
        IngestError: an unsupported type, a broken zip or a zip bomb.
    """
    suffix = path.suffix.lower()
    office = _OLD_BINARY.get(suffix, suffix)
    reason = ole_reason(data, office) if office in OFFICE_SUFFIXES else None
    if reason:
        raise IngestError(f"not {_OFFICE_NAMES[office]} ({reason})")
    ftype = sniff(path, data[:2048])
    if ftype != "zip":
        return ftype
    kind = zip_type(data)
    if kind is None:
        if suffix in OFFICE_SUFFIXES:
            raise IngestError(f"not {_OFFICE_NAMES[suffix]} (a zip of another kind)")
        raise IngestError("unsupported zip file (not a Word, PowerPoint, Excel or OpenDocument "
                          "file)")
    return kind


def _language(declared: object, text: str) -> str | None:
    if declared in ("nl", "en"):
        return str(declared)
    return detect_language(text)


def _dated(meta: dict, segments: list[Segment] | tuple[Segment, ...], title: str,
           metadata: list[str | None]) -> dict:  # fmt: skip
    first = segments[0].text if segments else ""
    full = "\n".join(s.text for s in segments)
    date = document_date(first, full, title, metadata)
    return {**meta, "date": date} if date else meta


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
    tables: bool = True,
) -> Loaded:
    """Parse one file. Raises IngestError when the whole file is unusable.

    Documents carry `meta["date"]` (ISO `YYYY-MM-DD` or `YYYY`, see `ingest.dates`) when one
    is found, and a PDF with OCR'd pages `meta["ocr_pages"]` (their 1-based numbers).

    Args:
        pdf_timeout: above 0, PDF text is read in a worker process that is killed after
            this many seconds (and capped at `pdf_memory_mb` MB when that is above 0).
        ocr: read PDF pages without a usable text layer with tesseract (Dutch and English).
        ocr_threads: tesseract's threads per page (its OMP_THREAD_LIMIT).
        tables: add PDF tables as rows whose cells carry their column headers.
    """
    data = path.read_bytes() if data is None else data
    ftype = detect_type(path, data)
    if ftype == "csv" and kind != "project" and not proj.is_project_header(csv_header(data)):
        ftype = "table"  # a CSV of other columns is read as a sheet, not refused
    key = str(path.resolve())
    if ftype == "pdf":
        doc = _load_pdf(path, data, key, kind, municipality, password, max_pages,
                        pdf_timeout, pdf_memory_mb, ocr, ocr_threads, tables)  # fmt: skip
        return Loaded([doc])
    if ftype in _READERS:
        content = _READERS[ftype](data)
        listing = _project_sheet(content, kind)
        if listing is not None:  # a region's project list kept in a spreadsheet
            name, rows = listing
            return _records(proj.records_from_rows(rows, f"sheet '{name}'", f"sheet '{name}' "),
                            path)  # fmt: skip
        # A web page's <title> usually ends in the site's name: its first heading is better.
        first, second = (content.heading, content.title) if ftype == "html" else (
            content.title, content.heading)  # fmt: skip
        title = choose_title(first, second, path)
        text = "\n".join(s.text for s in content.segments)
        doc = Document(
            id=sha256_hex(data),
            key=key,
            source=path.name,
            title=title,
            kind=kind,
            segments=tuple(content.segments),
            municipality=municipality,
            language=_language(getattr(content, "language", None), text),
            pages=getattr(content, "pages", None),
            meta=_dated(dict(getattr(content, "meta", {})), content.segments, title,
                        list(content.dates)),  # fmt: skip
        )
        return Loaded([doc])
    if ftype == "markdown":
        md = parse_markdown(decode_text(data))
        if not md.segments:
            raise IngestError("no text")
        fm = md.front_matter
        text = "\n".join(s.text for s in md.segments)
        meta = {"blocks": [b.__dict__ for b in md.blocks]} if md.blocks else {}
        if fm.get("date"):
            meta["date"] = str(fm["date"])
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
    return _records(proj.load_csv(path) if ftype == "csv" else proj.load_yaml(path), path)


def _records(records: list, path: Path) -> Loaded:
    out = Loaded()
    for r in records:
        if isinstance(r, proj.RecordError):
            out.errors.append(r)
        else:
            out.documents.append(r.to_document(source=path.name))
    return out


def _project_sheet(content, kind: str) -> tuple[str, list[list[str]]] | None:
    """The first sheet of a spreadsheet when it holds a project list: one of its first rows
    (a title may stand above) has the project columns; ingested as kind 'project', the
    first row with text must be that header."""
    sheets = getattr(content, "sheets", None)  # a web page's content has none
    if not sheets:
        return None
    name, rows = sheets[0]
    rows = [[str(c).strip() for c in r] for r in rows]
    filled = [i for i, r in enumerate(rows) if any(r)]
    header = next((i for i in filled[:HEADER_ROWS] if proj.is_project_header(rows[i])), None)
    if header is None and kind == "project" and filled:
        header = filled[0]  # checked as a project list: its errors say what is wrong
    return None if header is None else (name, rows[header:])


def _load_pdf(path, data, key, kind, municipality, password, max_pages, pdf_timeout,
              pdf_memory_mb, ocr, ocr_threads, tables) -> Document:  # fmt: skip
    # OCR gets most of the worker's time budget; the text layer and tables need the rest.
    budget = 0.6 * pdf_timeout if pdf_timeout > 0 else 0.0
    ocr_config = OcrConfig(threads=ocr_threads, budget=budget) if ocr else None
    if pdf_timeout > 0:
        pdf = read_pdf_isolated(path, password=password, max_pages=max_pages,
                                timeout=pdf_timeout, memory_mb=pdf_memory_mb,
                                ocr=ocr_config, tables=tables)  # fmt: skip
    else:
        pdf = read_pdf(path, password=password, max_pages=max_pages, ocr=ocr_config,
                       tables=tables)  # fmt: skip
    text = "\n".join(s.text for s in pdf.segments)
    others = (pdf.info.get("/Author"), pdf.info.get("/Creator"), pdf.info.get("/Producer"))
    # Not the first line of text: on real PDFs that is a page number, a date or a
    # letterhead as often as a title; the file name is the better last resort.
    title = choose_title(pdf.info.get("/Title"), pdf.heading, path, others=others)
    meta: dict = {"ocr_pages": pdf.ocr_pages} if pdf.ocr_pages else {}
    if pdf.ocr_skipped:
        meta["ocr_skipped_pages"] = pdf.ocr_skipped
    metadata_dates = [pdf.info.get("/CreationDate"), pdf.info.get("/ModDate")]
    return Document(
        id=sha256_hex(data),
        key=key,
        source=path.name,
        title=title,
        kind=kind,
        segments=tuple(pdf.segments),
        municipality=municipality or pdf.info.get("/Municipality") or None,
        language=_language(pdf.info.get("/Language"), text),
        pages=pdf.pages,
        meta=_dated(meta, pdf.segments, title, metadata_dates),
    )
