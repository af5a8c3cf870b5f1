"""PowerPoint (.pptx) decks to one segment per slide, cited by its number as a page.

A slide's segment holds its title, the text of its shapes in the order the deck keeps them
(groups opened), its tables as rows whose cells carry their headers, and its speaker notes:
the words a presenter says are often the only full sentences on a slide.

Bullets and titles seldom end in a full stop, and a line break is no sentence end to the
code that quotes sentences: the title "Open data" and a bullet "Gegevens over afval" on the
next line would be quoted as one run-on sentence. So every paragraph (and line of the
notes) that ends without a stop gets a full stop in the segment text
(`ingest.text.as_sentence`); the words stay as they are. Table rows stay as the tables of
Word and PDF files are.
"""

from __future__ import annotations

import io

from ingest.errors import IngestError
from ingest.office import OfficeContent, core_dates, short_error
from ingest.records import Segment
from ingest.tables import table_lines
from ingest.text import as_sentence, normalize


def read_pptx(data: bytes) -> OfficeContent:
    """Each slide with text becomes `Segment(page=slide number, section=slide title)`.

    Raises:
        IngestError: not a readable PowerPoint file, or no text on any slide.
    """
    from pptx import Presentation

    try:
        deck = Presentation(io.BytesIO(data))
        slides = list(deck.slides)
    except Exception as e:  # python-pptx raises KeyError, XMLSyntaxError, ValueError, ...
        raise IngestError(f"unreadable PowerPoint file ({short_error(e)})") from e
    segments: list[Segment] = []
    first_title: str | None = None
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape else ""
        first_title = first_title or title or None
        lines = [as_sentence(title)] if title else []
        for shape in slide.shapes:
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            lines += _shape_lines(shape)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
            lines += [as_sentence(line) for line in notes.splitlines()]
        text = normalize("\n".join(lines))
        if text:
            segments.append(Segment(text=text, page=number, section=title or None))
    if not segments:
        raise IngestError("no text in the PowerPoint file")
    props = deck.core_properties
    return OfficeContent(
        segments, title=(props.title or "").strip() or None, heading=first_title,
        dates=core_dates(props), pages=len(slides),
    )  # fmt: skip


def _shape_lines(shape) -> list[str]:
    if getattr(shape, "shapes", None) is not None:  # a group: its members in order
        return [line for member in shape.shapes for line in _shape_lines(member)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return table_lines(_table_rows(shape.table))
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [as_sentence(p.text) for p in shape.text_frame.paragraphs]
    return []  # pictures, charts, media: no text to cite


def _table_rows(table) -> list[list[str]]:
    # A merged cell's spanned neighbours repeat nothing: leave them empty.
    return [["" if cell.is_spanned else cell.text for cell in row.cells] for row in table.rows]
