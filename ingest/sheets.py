"""Spreadsheets (.xlsx, .ods) and CSV tables to rows whose cells carry their column headers.

Each sheet with data becomes one segment whose section is the sheet name; each row one line
`Header: value; Header: value.`, as the tables of PDF and Word files are read
(`ingest.tables.table_lines`: the first row with text is the header, empty rows and
columns are skipped), ended by a full stop so that a quoted sentence is one row and not a
whole sheet run together (`ingest.text.as_sentence`). A formula counts by the value the
spreadsheet program computed and saved with it; a formula saved without one (a file
written by a script) is left out.

A sheet is read up to MAX_ROWS rows of MAX_COLUMNS columns, and a workbook up to MAX_CELLS
cells in all: what lies beyond is left out and listed in `meta["truncated"]`, so that
nobody takes a cut table for the whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

from ingest.errors import IngestError
from ingest.office import OfficeContent, odf_meta, short_error
from ingest.plain import decode_text
from ingest.records import Segment
from ingest.tables import table_lines
from ingest.text import as_sentence

MAX_ROWS = 20_000  # per sheet
MAX_COLUMNS = 256  # per row
# Per workbook, every row counting at least one: bounds the time a hostile file takes (a
# sheet that declares a million rows and 16,384 columns) to about 10 s here.
MAX_CELLS = 2_000_000
DELIMITERS = ",;\t|"  # Dutch Excel saves CSV with ';'
_CUT = "\u2026"  # stands for the cells of a row beyond MAX_COLUMNS
_CORE_DATE = re.compile(r"<dcterms:(modified|created)\b[^>]*>\s*(\d{4}-\d{2}-\d{2})")


class _Budget:
    """Counts the cells read from a workbook and notes every sheet that was cut."""

    def __init__(self) -> None:
        self.cells = 0
        self.truncated: list[dict] = []

    def rows(self, sheet: str, source, declared_rows: int | None = None,
             declared_columns: int | None = None) -> list[list[object]]:  # fmt: skip
        """The first rows of `source` (lists of cell texts) that fit the limits.

        A cut sheet is noted as `{"sheet", "rows_read"}`, plus `"rows"` (the number the
        sheet declares, None when it declares none) when rows were left out, and
        `"columns_read"`, `"columns"` (declared, or None) when a row had more columns.
        """
        rows: list[list[object]] = []
        more_rows = wide = False
        for row in source:
            if len(rows) >= MAX_ROWS or self.cells >= MAX_CELLS:
                more_rows = True
                break
            wide = wide or any(row[MAX_COLUMNS:])
            row = list(row[:MAX_COLUMNS])
            self.cells += max(1, len(row))
            rows.append(row)
        if more_rows or wide:
            note: dict = {"sheet": sheet, "rows_read": len(rows)}
            if more_rows:
                note["rows"] = declared_rows
            if wide:
                note.update(columns_read=MAX_COLUMNS, columns=declared_columns)
            self.truncated.append(note)
        return rows


def cell_text(value: object, number_format: str = "General") -> str:
    """A cell's value as the sheet shows it, roughly: whole numbers without '.0', a
    percentage as one, a date without a midnight time; '' for no value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            value = value * 100
            return f"{_number(value)}%"
        return _number(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    # 15 significant digits: 0.1 + 0.2 reads 0.3, as the sheet shows it
    return format(value, ".15g") if isinstance(value, float) else str(value)


def _segment(name: str, rows: list[list[object]]) -> Segment | None:
    lines = table_lines(rows)
    text = "\n".join(as_sentence(line) for line in lines if line)
    return Segment(text=text, section=name.strip() or None) if text else None


def read_xlsx(data: bytes) -> OfficeContent:
    """Each worksheet with data becomes `Segment(section=sheet name)`, a line per row.

    Raises:
        IngestError: not a readable Excel workbook, or no data in any sheet.
    """
    from openpyxl import load_workbook

    budget = _Budget()
    segments: list[Segment] = []
    sheets: list[tuple[str, list]] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                declared = sheet.max_row, sheet.max_column  # from its <dimension>, if any
                # Else openpyxl pads every row to the declared size: a hostile file
                # declares 16,384 columns. Now a row is as long as its last saved cell.
                sheet.reset_dimensions()
                rows = budget.rows(sheet.title, _xlsx_rows(sheet), *declared)
                segment = _segment(sheet.title, rows)
                if segment:
                    segments.append(segment)
                    sheets.append((sheet.title, rows))
            title = (book.properties.title or "").strip() or None
        finally:
            book.close()
    except IngestError:
        raise
    except Exception as e:  # openpyxl raises KeyError, XML errors, ValueError, ...
        raise IngestError(f"unreadable Excel workbook ({short_error(e)})") from e
    if not segments:
        raise IngestError("no text in the Excel workbook")
    content = OfficeContent(segments, title=title, dates=_core_dates(data), sheets=sheets)
    if budget.truncated:
        content.meta["truncated"] = budget.truncated
    return content


def _xlsx_rows(sheet):
    for row in sheet.iter_rows():
        # An error value ("#DIV/0!") is no data.
        texts = ["" if c.value is None or c.data_type == "e" else
                 cell_text(c.value, c.number_format) for c in row[:MAX_COLUMNS]]  # fmt: skip
        if len(row) > MAX_COLUMNS:
            texts.append(_CUT)  # a cell saved beyond: the budget notes the row as cut
        yield texts


def _core_dates(data: bytes) -> list[str]:
    # Not openpyxl's properties: it fills a missing created/modified date with today's.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            core = archive.read("docProps/core.xml")[:20_000].decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return []
    found = dict((m.group(1), m.group(2)) for m in _CORE_DATE.finditer(core))
    return [found[k] for k in ("modified", "created") if k in found]


def read_ods(data: bytes) -> OfficeContent:
    """Each table of an OpenDocument spreadsheet becomes `Segment(section=its name)`.

    The displayed text of a cell is read, which for a formula is its saved result.

    Raises:
        IngestError: not a readable OpenDocument spreadsheet, or no data in any sheet.
    """
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import Table

    try:
        document = load(io.BytesIO(data))
    except Exception as e:  # odfpy raises what its XML parser and zipfile raise
        raise IngestError(f"unreadable OpenDocument spreadsheet ({short_error(e)})") from e
    budget = _Budget()
    segments: list[Segment] = []
    sheets: list[tuple[str, list]] = []
    for table in document.spreadsheet.getElementsByType(Table):
        name = str(table.getAttrNS(TABLENS, "name") or "")
        rows = budget.rows(name, _ods_rows(table))
        segment = _segment(name, rows)
        if segment:
            segments.append(segment)
            sheets.append((name, rows))
    if not segments:
        raise IngestError("no text in the OpenDocument spreadsheet")
    title, dates = odf_meta(document)
    content = OfficeContent(segments, title=title, dates=dates, sheets=sheets)
    if budget.truncated:
        content.meta["truncated"] = budget.truncated
    return content


def _repeat(node, attribute: str) -> int:
    from odf.namespaces import TABLENS

    value = node.getAttrNS(TABLENS, attribute)
    return int(value) if value and str(value).isdigit() else 1


def _ods_rows(table):
    from odf import teletype
    from odf.namespaces import TABLENS

    def rows_of(node):
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TABLENS, "table-row"):
                yield child
            elif qname in ((TABLENS, "table-header-rows"), (TABLENS, "table-rows"),
                           (TABLENS, "table-row-group")):  # fmt: skip
                yield from rows_of(child)

    for row in rows_of(table):
        cells: list[str] = []
        for cell in row.childNodes:
            if getattr(cell, "qname", None) not in ((TABLENS, "table-cell"),
                                                    (TABLENS, "covered-table-cell")):  # fmt: skip
                continue
            # A sheet saves its empty right-hand columns as one cell repeated thousands of
            # times; one past the limit is enough to tell that a row was cut.
            n = min(_repeat(cell, "number-columns-repeated"), MAX_COLUMNS + 1)
            cells.extend([teletype.extractText(cell)] * n)
            if len(cells) > MAX_COLUMNS:
                break
        while cells and not cells[-1].strip():
            cells.pop()  # the empty run to the sheet's right edge
        if not cells:
            continue  # an empty row, often repeated a million times to the sheet's end
        for _ in range(min(_repeat(row, "number-rows-repeated"), MAX_ROWS)):
            yield cells


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the one of `DELIMITERS` its first line has most of."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_header(data: bytes) -> list[str]:
    """The cells of a CSV file's first row (its header), stripped; [] for none."""
    text = decode_text(data[:65_536])
    try:
        first = next(csv.reader(io.StringIO(text), delimiter=csv_delimiter(text)), [])
    except csv.Error:
        return []
    return [c.strip() for c in first]


def read_csv_table(data: bytes) -> OfficeContent:
    """A CSV file that is no project list, read as one table (a segment of row lines).

    Raises:
        IngestError: "empty file", not readable as CSV, or no data.
    """
    if not data:
        raise IngestError("empty file")
    text = decode_text(data)
    reader = csv.reader(io.StringIO(text), delimiter=csv_delimiter(text))
    budget = _Budget()
    try:
        rows = budget.rows("", reader)
    except csv.Error as e:
        raise IngestError(f"unreadable CSV file ({short_error(e)})") from e
    segment = _segment("", rows)
    if segment is None:
        raise IngestError("no text")
    content = OfficeContent([segment])
    if budget.truncated:
        content.meta["truncated"] = budget.truncated
    return content
