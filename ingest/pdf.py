"""PDF to page segments: text with pypdf, OCR where it has none, tables with their headers."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ingest.errors import IngestError
from ingest.layout import PageTables, read_layout, row_key, table_candidate_pages
from ingest.ocr import (
    IMAGE_SHARE,
    SHORT_TEXT,
    OcrConfig,
    TesseractMissing,
    image_share,
    is_mojibake,
    ocr_image,
    render_page,
    tesseract_languages,
)
from ingest.records import Segment
from ingest.text import normalize, strip_running_lines


class PdfContent:
    """What a PDF yields: page segments, its page count and its document info."""

    def __init__(
        self,
        segments: list[Segment],
        pages: int,
        info: dict[str, str],
        ocr_pages: list[int] | None = None,
        heading: str | None = None,
        ocr_skipped: list[int] | None = None,
    ):
        self.segments = segments
        self.pages = pages
        self.info = info
        self.ocr_pages = ocr_pages or []  # 1-based numbers of the pages read by OCR
        self.heading = heading  # the largest-font line of page 1, if any
        self.ocr_skipped = ocr_skipped or []  # pages that needed OCR beyond its time budget


# pypdf's safety limits, set here so that they hold whatever pypdf's defaults become: no
# stream may decompress beyond this (a compression bomb is refused, not inflated), and the
# decoding and parsing work per stream is bounded. Text content streams are far smaller.
MAX_STREAM_BYTES = 64 * 1024 * 1024
PDF_LIMITS = {
    "maximum_declared_stream_length": MAX_STREAM_BYTES,
    "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
    "zlib_maximum_output_length": MAX_STREAM_BYTES,
    "lzw_maximum_output_length": MAX_STREAM_BYTES,
    "run_length_maximum_output_length": MAX_STREAM_BYTES,
    "brotli_maximum_output_length": MAX_STREAM_BYTES,
    "jbig2_maximum_output_length": MAX_STREAM_BYTES,
    "image_maximum_buffer_size": MAX_STREAM_BYTES,
    "stream_decoding_work_maximum_length": 4 * MAX_STREAM_BYTES,
}


def read_pdf(
    path: Path,
    password: str | None = None,
    max_pages: int = 3000,
    ocr: OcrConfig | None = None,
    tables: bool = True,
) -> PdfContent:
    """Read a PDF page by page (1-based page numbers kept), within pypdf's safety limits.

    Pages without a usable text layer (a scan, or mojibake from a broken font map) are read
    by OCR unless `ocr` is None. With `tables`, ruled tables are added to their page's text
    as rows that carry their column headers, and the largest line of page 1 is found.
    No time budget here: `ingest.worker.read_pdf_isolated` runs this in a worker process.

    Raises:
        IngestError: encrypted without (the right) password, unreadable, no text layer,
            a stream beyond the limits (a compression bomb).
    """
    import pypdf

    with pypdf.apply_configuration(**PDF_LIMITS):
        return _read_pdf(path, password, max_pages, ocr, tables)


def _read_pdf(
    path: Path, password: str | None, max_pages: int, ocr: OcrConfig | None, tables: bool
) -> PdfContent:
    import pypdf
    from pypdf.errors import (
        FileNotDecryptedError,
        LimitReachedError,
        PdfReadError,
        WrongPasswordError,
    )

    # pypdf logs warnings for every odd object; the one-line result per file is what counts.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            # Protected only against copying or printing (an owner password, an empty user
            # password, common in government publications): it opens with the empty
            # password. An empty *owner* password does not count: the author meant the
            # user password to keep readers out.
            if not password and reader.decrypt("") != pypdf.PasswordType.USER_PASSWORD:
                raise IngestError("encrypted PDF: give its password with --password")
        if reader.is_encrypted and password:
            try:
                if reader.decrypt(password) == pypdf.PasswordType.NOT_DECRYPTED:
                    # A batch-wide --password must not lock out a PDF that needs none.
                    if reader.decrypt("") != pypdf.PasswordType.USER_PASSWORD:
                        raise IngestError("encrypted PDF: wrong password")
                    password = None
            except WrongPasswordError as e:
                raise IngestError("encrypted PDF: wrong password") from e
        n_pages = len(reader.pages)
    except IngestError:
        raise
    except FileNotDecryptedError as e:
        raise IngestError("encrypted PDF: give its password with --password") from e
    except MemoryError:
        raise  # the caller's memory cap, not a property of the file
    except LimitReachedError as e:
        raise IngestError(f"refused: beyond pypdf's safety limits ({_short(e)})") from e
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise IngestError(f"unreadable PDF ({_short(e)})") from e
    except Exception as e:  # pypdf raises many kinds on corrupt files
        raise IngestError(f"unreadable PDF ({type(e).__name__}: {_short(e)})") from e
    if n_pages == 0:
        raise IngestError("PDF has no pages")
    if n_pages > max_pages:
        raise IngestError(f"too many pages ({n_pages} > {max_pages}, see KB_MAX_PAGES)")

    texts: list[str] = []
    failed = 0
    limited = ""  # why pypdf refused a page, if it did
    for page in reader.pages:
        try:
            texts.append(normalize(page.extract_text() or ""))
        except MemoryError:
            raise
        except LimitReachedError as e:  # e.g. a compression bomb: refused, not inflated
            limited = limited or _short(e)
            failed += 1
            texts.append("")
        except Exception:  # one bad page must not lose the others
            failed += 1
            texts.append("")
    if failed == n_pages:
        if limited:
            raise IngestError(
                f"refused: a page is beyond pypdf's safety limits ({limited}); compression bomb?"
            )
        raise IngestError("unreadable PDF (no page could be read)")
    texts = strip_running_lines(texts)
    ocr_pages: list[int] = []
    tried: list[int] = []
    skipped: list[int] = []
    if ocr is not None:
        ocr_pages = _ocr_where_needed(path, password, texts, ocr, tried, skipped)
    heading = None
    table_text: dict[int, str] = {}
    if tables:
        candidates = table_candidate_pages(path, password, n_pages)
        found, heading = read_layout(path, password, candidates)
        for i, page_tables in found.items():
            if i + 1 not in ocr_pages:
                texts[i], table_text[i] = _with_tables(texts[i], page_tables)
    segments = []
    for i, t in enumerate(texts):
        if t.strip():
            segments.append(Segment(text=t, page=i + 1))
        if table_text.get(i):
            segments.append(Segment(text=table_text[i], page=i + 1))
    if sum(len(s.text) for s in segments) < 20:
        if skipped:
            raise IngestError(
                f"no extractable text: OCR ran out of its time budget after {len(tried)} of "
                f"{len(tried) + len(skipped)} pages (raise KB_PDF_TIMEOUT)"
            )
        if tried:
            raise IngestError("no extractable text (scanned, and OCR found no text)")
        raise IngestError("no extractable text (scanned?)")
    try:
        info = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    except Exception:
        info = {}
    return PdfContent(segments, n_pages, info, ocr_pages=ocr_pages, heading=heading,
                      ocr_skipped=skipped)  # fmt: skip


def _with_tables(text: str, page_tables: PageTables) -> tuple[str, str]:
    """The page text without its tables' raw rows, and the tables as their own text.

    In the page text a table is a stream of numbers that no longer says which figure is
    which ("Opschalers 3 5 5 6 9 28"); the rendered rows carry their headers
    ("Opschalers; 2019: 3; ..."). Apart from the prose they also make their own chunks, so a
    question about a figure meets the table, not a page of text around it.
    """
    lines = text.split("\n")
    drop: set[int] = set()
    for i, line in enumerate(lines):
        if row_key(line) in page_tables.raw_rows:
            drop.add(i)
        elif i + 1 < len(lines) and row_key(line + lines[i + 1]) in page_tables.raw_rows:
            drop |= {i, i + 1}  # a row whose label wrapped onto a second line
    kept = [ln for i, ln in enumerate(lines) if i not in drop]
    tables = "\n".join(normalize(ln) for ln in page_tables.lines)
    return "\n".join(kept).strip(), tables


def _ocr_where_needed(
    path: Path,
    password: str | None,
    texts: list[str],
    config: OcrConfig,
    tried: list[int],
    skipped: list[int],
) -> list[int]:
    """OCR the pages that need it, replacing their text in `texts`; their 1-based numbers.

    `tried` receives the numbers of every page OCR was run on, whatever it found; `skipped`
    those that needed it after `config.budget` seconds had passed.

    Raises:
        IngestError: tesseract missing (only when no page has a text layer of its own;
            otherwise the readable pages are kept) or pdfium cannot open the file.
    """
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path), password=password or None)
    except pdfium.PdfiumError as e:
        if any(t.strip() for t in texts):
            return []  # pypdf read it; pdfium's objection only costs the OCR
        raise IngestError(f"unreadable PDF for OCR ({_short(e)})") from e
    done: list[int] = []
    langs: str | None = None
    start = time.monotonic()
    try:
        for i, text in enumerate(texts):
            page = doc[i]
            try:
                garbage = is_mojibake(text)
                if not garbage and (
                    len(text.strip()) >= SHORT_TEXT or image_share(page) < IMAGE_SHARE
                ):
                    continue
                if langs is None:
                    try:
                        langs = tesseract_languages()
                    except TesseractMissing:
                        if any(t.strip() and not is_mojibake(t) for t in texts):
                            return done  # keep the pages that have text
                        raise
                if config.budget > 0 and time.monotonic() - start > config.budget:
                    skipped.append(i + 1)
                    continue
                tried.append(i + 1)
                found = normalize(ocr_image(render_page(page), langs, config))
            finally:
                page.close()
            # A short real text layer (a stamp, a one-line caption) stays when OCR finds less.
            if garbage or len(found) > len(text.strip()):
                texts[i] = found
                done.append(i + 1)
    finally:
        doc.close()
    return done


def _short(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]
