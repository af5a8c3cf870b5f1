"""PDF to page segments with pypdf."""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.errors import IngestError
from ingest.records import Segment
from ingest.text import normalize, strip_running_lines

_JUNK_TITLES = {"", "untitled", "title", "document", "microsoft word"}


class PdfContent:
    """What a PDF yields: page segments, its page count and its document info."""

    def __init__(self, segments: list[Segment], pages: int, info: dict[str, str]):
        self.segments = segments
        self.pages = pages
        self.info = info

    @property
    def title(self) -> str | None:
        title = self.info.get("/Title", "").strip()
        if title.lower().startswith("microsoft word - "):
            title = title[len("microsoft word - ") :]
        if title.lower() in _JUNK_TITLES or len(title) < 3:
            return None
        return title[:200]


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


def read_pdf(path: Path, password: str | None = None, max_pages: int = 3000) -> PdfContent:
    """Read a PDF page by page (1-based page numbers kept), within pypdf's safety limits.

    No time budget here: `ingest.worker.read_pdf_isolated` runs this in a worker process.

    Raises:
        IngestError: encrypted without (the right) password, unreadable, no text layer,
            a stream beyond the limits (a compression bomb).
    """
    import pypdf

    with pypdf.apply_configuration(**PDF_LIMITS):
        return _read_pdf(path, password, max_pages)


def _read_pdf(path: Path, password: str | None, max_pages: int) -> PdfContent:
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
            if not password:
                raise IngestError("encrypted PDF: give its password with --password")
            try:
                if reader.decrypt(password) == pypdf.PasswordType.NOT_DECRYPTED:
                    raise IngestError("encrypted PDF: wrong password")
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
    segments = [Segment(text=t, page=i) for i, t in enumerate(texts, start=1) if t.strip()]
    if sum(len(s.text) for s in segments) < 20:
        raise IngestError("no extractable text (scanned?)")
    try:
        info = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    except Exception:
        info = {}
    return PdfContent(segments, n_pages, info)


def _short(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]
