"""What needs the page layout (pdfplumber): tables with their headers, the largest heading.

pdfplumber is thorough but slow (pure Python); pdfium (C) picks the pages worth its time:
only pages with enough drawn lines or boxes can hold a ruled table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ingest.tables import table_lines

# Fewer drawn path objects than this on a page: no ruled table to find there.
MIN_PATHS = 4
# pdfplumber reads at most this many candidate pages of one PDF (a bound on its time).
MAX_TABLE_PAGES = 300
# Text this close above a table (points) is taken as its caption.
CAPTION_ZONE = 40


def table_candidate_pages(path: Path, password: str | None, n_pages: int) -> list[int]:
    """0-based indexes of the pages with enough drawn paths to hold a ruled table."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        doc = pdfium.PdfDocument(str(path), password=password or None)
    except pdfium.PdfiumError:
        return []
    found: list[int] = []
    try:
        for i in range(min(n_pages, len(doc))):
            page = doc[i]
            try:
                n = 0
                for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=2):
                    n += 1
                    if n >= MIN_PATHS:
                        found.append(i)
                        break
            except Exception:  # noqa: BLE001 - an odd page simply has no tables for us
                pass
            finally:
                page.close()
            if len(found) >= MAX_TABLE_PAGES:
                break
    finally:
        doc.close()
    return found


@dataclass(frozen=True)
class PageTables:
    """A page's tables: their captions and header-carrying rows, and the keys of their raw
    rows (cells joined without spaces or euro signs) to find those rows in the page text."""

    lines: list[str]
    raw_rows: set[str]


def row_key(text: str) -> str:
    """The comparison key of a table row as text: no whitespace, no euro signs, lower case."""
    return "".join(text.replace("€", "").split()).lower()


def read_layout(
    path: Path, password: str | None, pages: list[int]
) -> tuple[dict[int, PageTables], str | None]:
    """Tables of the given pages (by 0-based page), and the largest-font line of page 1
    (a wrapped title's lines joined)."""
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    tables: dict[int, PageTables] = {}
    heading = None
    try:
        pdf = pdfplumber.open(str(path), password=password or "")
    except Exception:  # noqa: BLE001 - pypdf read the file; without layout we still have text
        return {}, None
    with pdf:
        try:
            heading = _largest_line(pdf.pages[0])
        except Exception:  # noqa: BLE001
            heading = None
        for i in pages:
            try:
                page = pdf.pages[i]
                lines: list[str] = []
                raw: set[str] = set()
                for table in page.find_tables():
                    cells = table.extract()
                    rows = table_lines(cells, single_column=False)
                    if rows:
                        caption = _caption(page, table.bbox)
                        lines.extend(([caption] if caption else []) + rows)
                        raw |= {row_key(" ".join(str(c or "") for c in r)) for r in cells}
                if lines:
                    tables[i] = PageTables(lines, raw - {""})
                page.close()
            except Exception:  # noqa: BLE001 - one odd page must not cost the others
                continue
    return tables, heading


def _caption(page, bbox) -> str | None:
    x0, top, x1, _ = bbox
    if top <= 1:
        return None
    zone = page.crop((0, max(0, top - CAPTION_ZONE), page.width, top), strict=False)
    text = (zone.extract_text() or "").strip()
    return text.split("\n")[-1].strip() or None if text else None


def _largest_line(page) -> str | None:
    chars = [c for c in page.chars if c.get("text", "").strip()]
    if not chars:
        return None
    biggest = max(round(c["size"], 1) for c in chars)
    body = sorted(round(c["size"], 1) for c in chars)[len(chars) // 2]
    if biggest <= body:
        return None  # one size throughout: no heading stands out
    big = [
        c for c in page.extract_words(extra_attrs=["size"]) if round(c["size"], 1) >= biggest - 0.5
    ]
    lines: dict[int, list] = {}
    for w in big:
        lines.setdefault(round(w["top"]), []).append(w)
    tops = sorted(lines)
    # A title wrapped over lines: keep the consecutive big lines of the first block.
    kept = [tops[0]]
    for t in tops[1:]:
        if t - kept[-1] <= biggest * 1.8:
            kept.append(t)
        else:
            break
    text = " ".join(
        " ".join(w["text"] for w in sorted(lines[t], key=lambda w: w["x0"])) for t in kept
    )
    text = " ".join(text.split())
    return text[:200] if sum(ch.isalpha() for ch in text) >= 3 else None
