"""Saved web pages (.html/.htm) to section segments with trafilatura.

trafilatura keeps the page's main text (navigation, cookie bars and footers dropped) as
Markdown; its headings become the section path, as for a Markdown file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.errors import IngestError
from ingest.markdown import parse_markdown
from ingest.records import Segment
from ingest.tables import markdown_tables_to_lines


@dataclass
class HtmlContent:
    segments: list[Segment]
    title: str | None = None  # <title> or og:title, as trafilatura reads it
    heading: str | None = None  # the first heading of the main text
    dates: list[str] = field(default_factory=list)  # the page's publication date, if stated
    language: str | None = None  # <html lang>


def looks_like_html(head: bytes) -> bool:
    """True when the first bytes are an HTML document (a doctype or an <html> tag)."""
    start = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:512]


def read_html(data: bytes) -> HtmlContent:
    """The main text of a web page, its headings as sections, tables with their headers.

    Raises:
        IngestError: no main text found.
    """
    import logging

    import trafilatura

    # trafilatura logs every page it finds too short; the one-line result per file counts.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        markdown = trafilatura.extract(
            data, output_format="markdown", include_tables=True, include_formatting=True,
            include_comments=False, favor_recall=True,
        )  # fmt: skip
        meta = trafilatura.extract_metadata(data)
    except Exception as e:  # lxml and trafilatura raise many kinds on broken input
        raise IngestError(f"unreadable web page ({type(e).__name__})") from e
    if not markdown or not markdown.strip():
        raise IngestError("no main text in the web page")
    md = parse_markdown(markdown_tables_to_lines(markdown))
    # A menu word or two ("Home") is what is left of a page without content: not a text.
    if sum(len(s.text) for s in md.segments) < 20:
        raise IngestError("no main text in the web page")
    title = (meta.title or "").strip() or None if meta else None
    dates = [meta.date] if meta and meta.date else []
    lang = meta.language if meta and meta.language in ("nl", "en") else None
    return HtmlContent(md.segments, title=title, heading=md.title, dates=dates, language=lang)
