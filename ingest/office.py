"""Word (.docx) and OpenDocument (.odt) files to section segments; zip bombs refused.

Both formats (and PowerPoint's .pptx, read in `ingest.slides`, and the spreadsheets .xlsx
and .ods, read in `ingest.sheets`) are zip files. The type is decided by their members
(`word/document.xml`, `ppt/presentation.xml`, `xl/workbook.xml`, the `mimetype` entry), not
by the name. Before anything is unpacked, the sum of the members'
declared sizes and their number are checked: a zip bomb is refused, not inflated (and
`zipfile` never inflates a member beyond its declared size).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from ingest.errors import IngestError
from ingest.records import Segment
from ingest.sections import SectionBuilder
from ingest.tables import table_lines

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 250_000_000
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# An Office file encrypted with a password is no zip but an OLE2 compound file (as are the
# old binary .doc and .ppt); the encrypted one holds a stream of this name.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


@dataclass
class OfficeContent:
    """What a document file yields (Word, OpenDocument, PowerPoint, spreadsheets, text,
    RTF): its segments, its metadata title and dates."""

    segments: list[Segment]
    title: str | None = None  # from the document properties
    heading: str | None = None  # the first heading (or the paragraph styled Title)
    dates: list[str] = field(default_factory=list)  # created/modified, ISO, weak evidence
    pages: int | None = None  # a deck's number of slides
    meta: dict = field(default_factory=dict)  # for the Document's meta ("truncated" sheets)
    # A spreadsheet's sheets as read: (name, rows of cell texts), for a project list kept in
    # a spreadsheet (ingest.loader reads it as records when its header is a project's).
    sheets: list[tuple[str, list[list[str]]]] = field(default_factory=list)


def ole_reason(data: bytes, suffix: str) -> str | None:
    """Why an OLE2 compound file named `suffix` is no Office zip: encrypted, or the old
    binary format; None for anything else."""
    if not data.startswith(OLE_MAGIC):
        return None
    if _ENCRYPTED_STREAM in data:
        return "encrypted with a password; save it without one"
    return f"an old binary Office file; save it as {suffix}"


def zip_type(data: bytes) -> str | None:
    """'docx', 'pptx', 'xlsx', 'odt', 'ods' or None (not a zip, or another kind of zip), from
    the members.

    Raises:
        IngestError: a broken zip, or one beyond the member or size limits (a zip bomb).
    """
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise IngestError(f"broken zip file ({short_error(e)})") from e
    if len(infos) > MAX_MEMBERS:
        raise IngestError(
            f"refused: zip with {len(infos)} members (more than {MAX_MEMBERS}); zip bomb?"
        )
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise IngestError(
            f"refused: zip unpacks to {unpacked / 1e6:.0f} MB "
            f"(more than {MAX_UNPACKED_BYTES / 1e6:.0f} MB); zip bomb?"
        )
    names = {i.filename for i in infos}
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names:
        try:
            mimetype = archive.read("mimetype").strip()
            if mimetype == ODT_MIMETYPE:
                return "odt"
            if mimetype == ODS_MIMETYPE:
                return "ods"
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise IngestError(f"broken zip file ({short_error(e)})") from e
    if "content.xml" in names:
        return "odt"  # some writers leave out the mimetype entry
    return None


_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.IGNORECASE)


def read_docx(data: bytes) -> OfficeContent:
    """Headings (styles Heading 1-9 / Kop 1-9) become the section path; tables keep headers.

    Raises:
        IngestError: not a readable Word document, or no text.
    """
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        body = list(document.iter_inner_content())
    except Exception as e:  # python-docx raises KeyError, XMLSyntaxError, ValueError, ...
        raise IngestError(f"unreadable Word document ({short_error(e)})") from e
    out = SectionBuilder()
    title_para: str | None = None
    for item in body:
        if isinstance(item, Table):
            for line in table_lines(_docx_rows(item)):
                out.text(line)
            continue
        text = item.text
        style = (item.style.name if item.style is not None else "") or ""
        m = _HEADING_STYLE.match(style.strip())
        if style.strip().lower() == "title":
            title_para = title_para or " ".join(text.split()) or None
            out.heading(1, text)
        elif m:
            out.heading(int(m.group(1)) + 1, text)  # below a Title paragraph
        else:
            out.text(text)
    segments = out.finish()
    if not segments:
        raise IngestError("no text in the Word document")
    props = document.core_properties
    return OfficeContent(
        segments, title=(props.title or "").strip() or None,
        heading=title_para or out.first_heading, dates=core_dates(props),
    )  # fmt: skip


def core_dates(props) -> list[str]:
    """The modified and created dates (ISO) of a Word or PowerPoint file's core properties."""
    return [d.date().isoformat() for d in (props.modified, props.created) if d is not None]


def _docx_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, last = [], None
        for cell in row.cells:
            # A merged cell appears once per grid column it spans: keep it once.
            cells.append("" if cell._tc is last else cell.text)  # noqa: SLF001
            last = cell._tc  # noqa: SLF001
        rows.append(cells)
    return rows


def read_odt(data: bytes) -> OfficeContent:
    """text:h outline levels become the section path; tables keep their headers.

    Raises:
        IngestError: not a readable OpenDocument text, or no text.
    """
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    try:
        document = load(io.BytesIO(data))
    except Exception as e:  # odfpy raises what its XML parser and zipfile raise
        raise IngestError(f"unreadable OpenDocument file ({short_error(e)})") from e
    out = SectionBuilder()

    def walk(node) -> None:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "h"):
                level = child.getAttrNS(TEXTNS, "outline-level")
                out.heading(int(level) if level and str(level).isdigit() else 1,
                            teletype.extractText(child))  # fmt: skip
            elif qname == (TEXTNS, "p"):
                out.text(teletype.extractText(child))
            elif qname == (TABLENS, "table"):
                for line in table_lines(_odt_rows(child)):
                    out.text(line)
            elif qname is not None:
                walk(child)  # lists, sections, frames: their paragraphs in order

    walk(document.text)
    segments = out.finish()
    if not segments:
        raise IngestError("no text in the OpenDocument file")
    title, dates = odf_meta(document)
    return OfficeContent(segments, title=title, heading=out.first_heading, dates=dates)


def _odt_rows(table) -> list[list[str]]:
    from odf import teletype
    from odf.namespaces import TABLENS

    rows: list[list[str]] = []

    def collect(node) -> None:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TABLENS, "table-row"):
                cells = []
                for cell in child.childNodes:
                    if getattr(cell, "qname", None) in (
                        (TABLENS, "table-cell"),
                        (TABLENS, "covered-table-cell"),
                    ):
                        repeat = cell.getAttrNS(TABLENS, "number-columns-repeated")
                        n = int(repeat) if repeat and str(repeat).isdigit() else 1
                        text = teletype.extractText(cell)
                        cells.extend([text] * min(n, 50))  # trailing empty runs can be huge
                rows.append(cells)
            elif qname is not None:
                collect(child)  # header-rows, row-groups

    collect(table)
    return rows


def odf_meta(document) -> tuple[str | None, list[str]]:
    """The title and dates (ISO) in an OpenDocument file's meta.xml."""
    from odf import teletype
    from odf.namespaces import DCNS, METANS

    title, dates = None, []
    for node in document.meta.childNodes:
        qname = getattr(node, "qname", None)
        text = teletype.extractText(node).strip()
        if qname == (DCNS, "title") and text:
            title = text
        elif qname in ((DCNS, "date"), (METANS, "creation-date")) and len(text) >= 10:
            dates.append(text[:10])
    return title, dates


def short_error(e: Exception) -> str:
    """The first line of an exception's message (or its type), at most 160 characters."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]
