"""The source viewer: a cited PDF page rendered on the server, the passage marked on it.

pypdfium2 renders the page to a PNG and finds the passage's words in the page's text layer;
the page goes to the browser as a data URL inside the app (nothing outside this machine,
no PDF plug-in, no script). Markdown sections and project records are shown as text.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

SCALE = 1.6  # 72 dpi points to pixels: an A4 page about 950 px wide
PIECE_WORDS = 6  # the passage is searched for in runs of this many words
MARK = (255, 213, 0, 110)  # translucent yellow over the text
EDGE = (153, 51, 0, 255)  # a dark edge: the mark does not depend on colour alone


@dataclass(frozen=True)
class Rendered:
    png: bytes
    width: int
    height: int
    page: int
    pages: int
    marks: list[tuple[float, float, float, float]]  # (x0, y0, x1, y1) as fractions of the page

    @property
    def found(self) -> bool:
        return bool(self.marks)

    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


def _pieces(passage: str) -> list[str]:
    """Runs of words from the passage, without the ellipsis a snippet ends with."""
    words = re.sub(r"[…]+", " ", passage).split()
    return [" ".join(words[i:i + PIECE_WORDS]) for i in range(0, len(words), PIECE_WORDS)
            if len(words[i:i + PIECE_WORDS]) >= 3 or i == 0]  # fmt: skip


def _find(textpage, pieces: list[str]) -> list[tuple[float, float, float, float]]:
    """Rectangles (PDF points: left, bottom, right, top) of every piece found on the page."""
    rects = []
    for piece in pieces:
        search = textpage.search(piece, match_case=False, match_whole_word=False)
        try:
            found = search.get_next()
        finally:
            search.close()
        if not found:
            continue
        index, count = found
        n = textpage.count_rects(index, count)
        rects += [textpage.get_rect(i) for i in range(n)]
    return rects


def render_page(pdf: Path | str, page: int, passage: str = "") -> Rendered:
    """Page `page` (1-based) of a PDF as a PNG, the passage's lines marked.

    Raises:
        ValueError: the page is not in the document or the file is no PDF.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    try:
        doc = pdfium.PdfDocument(str(pdf))
    except pdfium.PdfiumError as e:
        raise ValueError(f"not a readable PDF ({e})") from e
    try:
        pages = len(doc)
        if not 1 <= page <= pages:
            raise ValueError(f"no page {page} (the document has {pages})")
        p = doc[page - 1]
        w, h = p.get_size()
        textpage = p.get_textpage()
        rects = _find(textpage, _pieces(passage)) if passage else []
        image = p.render(scale=SCALE).to_pil().convert("RGBA")
        textpage.close()
        p.close()
    finally:
        doc.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    marks = []
    bar = min((r[0] for r in rects), default=0) * SCALE - 10  # a change bar left of the lines
    for left, bottom, right, top in rects:
        box = (left * SCALE - 2, (h - top) * SCALE - 2, right * SCALE + 2, (h - bottom) * SCALE + 2)
        draw.rectangle(box, fill=MARK)
        draw.line([(bar, box[1]), (bar, box[3])], fill=EDGE, width=4)
        marks.append((left / w, (h - top) / h, right / w, (h - bottom) / h))
    image = Image.alpha_composite(image, overlay).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return Rendered(buf.getvalue(), image.width, image.height, page, pages, marks)


def page_html(r: Rendered, alt: str, caption: str) -> str:
    """The page in a scrollable frame, with an invisible anchor on the first mark; the app
    scrolls the frame to it (see `SCROLL_JS` in ui.app)."""
    anchor = ""
    if r.marks:
        top = min(m[1] for m in r.marks)
        anchor = f'<span class="kb-anchor" style="top:{top * 100:.2f}%"></span>'
    return (
        '<figure class="kb-viewer">'
        f'<div class="kb-page" tabindex="0" role="region" aria-label="{html.escape(alt)}">'
        f'<div class="kb-page-inner"><img src="{r.data_url()}" alt="{html.escape(alt)}" '
        f'width="{r.width}" height="{r.height}">{anchor}</div></div>'
        f"<figcaption>{caption}</figcaption></figure>"
    )
