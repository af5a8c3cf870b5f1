"""Word, OpenDocument, PowerPoint, spreadsheets, text and saved web pages: sections, text,
tables and one-line failures."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loader import load_file

INTRO = "Rijswijk wil een digitale gemeente zijn voor iedereen."
OPEN_DATA = "De gemeente deelt gegevens over afval en parkeren als open data."
PRIVACY = "Persoonsgegevens worden nooit als open data gedeeld."
INCLUSION = "Het Digitaal Hulpplein helpt inwoners met formulieren."
ADOPTED = "Vastgesteld door de gemeenteraad op 12 maart 2024."
TABLE = [["Jaar", "Deelnemers", "Budget (euro)"], ["2023", "120", "40.000"],
         ["2024", "180", "55.000"]]  # fmt: skip
TABLE_LINES = (
    "Jaar: 2023; Deelnemers: 120; Budget (euro): 40.000\n"
    "Jaar: 2024; Deelnemers: 180; Budget (euro): 55.000"
)
TITLE = "Digitale agenda Rijswijk 2025–2028"
EXPECTED = [
    (TITLE, f"{INTRO}\n{ADOPTED}"),
    (f"{TITLE} > Open data", OPEN_DATA),
    (f"{TITLE} > Open data > Privacy", PRIVACY),
    (f"{TITLE} > Inclusie", f"{INCLUSION}\n{TABLE_LINES}"),
]


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = ""  # the metadata is often empty: the Title paragraph counts
    d.add_heading(TITLE, 0)
    d.add_paragraph(INTRO)
    d.add_paragraph(ADOPTED)
    d.add_heading("Open data", 1)
    d.add_paragraph(OPEN_DATA)
    d.add_heading("Privacy", 2)
    d.add_paragraph(PRIVACY)
    d.add_heading("Inclusie", 1)
    d.add_paragraph(INCLUSION)
    table = d.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for i, row in enumerate(TABLE):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.save(str(path))
    return path


def make_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    d = OpenDocumentText()
    d.text.addElement(H(outlinelevel=1, text=TITLE))
    d.text.addElement(P(text=INTRO))
    d.text.addElement(P(text=ADOPTED))
    d.text.addElement(H(outlinelevel=2, text="Open data"))
    d.text.addElement(P(text=OPEN_DATA))
    d.text.addElement(H(outlinelevel=3, text="Privacy"))
    d.text.addElement(P(text=PRIVACY))
    d.text.addElement(H(outlinelevel=2, text="Inclusie"))
    d.text.addElement(P(text=INCLUSION))
    table = Table(name="Deelnemers")
    table.addElement(TableColumn(numbercolumnsrepeated=len(TABLE[0])))
    for row in TABLE:
        tr = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    d.text.addElement(table)
    d.save(str(path))
    return path


def make_html(path: Path) -> Path:
    rows = "".join(
        "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{v}</{'th' if i == 0 else 'td'}>"
                         for v in row) + "</tr>"
        for i, row in enumerate(TABLE)
    )  # fmt: skip
    path.write_text(
        f"""<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<title>{TITLE} | Gemeente Rijswijk</title></head><body>
<nav><a href="/">Home</a> <a href="/contact">Contact</a> <a href="/zoeken">Zoeken</a></nav>
<main><h1>{TITLE}</h1><p>{INTRO}</p><p>{ADOPTED}</p>
<h2>Open data</h2><p>{OPEN_DATA}</p><h3>Privacy</h3><p>{PRIVACY}</p>
<h2>Inclusie</h2><p>{INCLUSION}</p><table>{rows}</table></main>
<footer>Cookies · Privacyverklaring · Toegankelijkheid</footer></body></html>""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("make", "name"),
    [(make_docx, "agenda.docx"), (make_odt, "agenda.odt"), (make_html, "agenda.html")],
)
def test_headings_become_sections_with_exact_text(tmp_path, make, name):
    doc = load_file(make(tmp_path / name), kind="strategy", municipality="Rijswijk").documents[0]
    got = [(s.section, s.text) for s in doc.segments]
    if name.endswith(".html"):  # the web page's paragraphs are blank-line separated
        got = [(sec, text.replace("\n\n", "\n")) for sec, text in got]
    assert got == EXPECTED
    assert doc.title == TITLE
    assert doc.meta["date"] == "2024-03-12"
    assert doc.language == "nl"
    assert doc.pages is None and all(s.page is None for s in doc.segments)


def test_type_is_decided_by_content(tmp_path):
    """A Word file named .odt, and a web page named .txt-less .htm, are read for what they are."""
    docx_as_odt = make_docx(tmp_path / "x.docx").rename(tmp_path / "really-word.odt")
    assert load_file(docx_as_odt).documents[0].segments[1].section == f"{TITLE} > Open data"
    page = make_html(tmp_path / "x.html").rename(tmp_path / "page.md")
    assert load_file(page).documents[0].segments[0].section == TITLE


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _zip_bomb(path: Path) -> Path:
    """A .docx-looking zip whose document.xml unpacks to 300 MB of zeros (~300 KB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    return path


def _broken(kind: str, tmp_path: Path) -> Path:
    if kind == "docx-truncated":
        data = make_docx(tmp_path / "full.docx").read_bytes()
        (tmp_path / "broken.docx").write_bytes(data[: len(data) // 2])
        return tmp_path / "broken.docx"
    if kind == "docx-bad-xml":
        return _zip(tmp_path / "bad.docx", {"[Content_Types].xml": b"<Types",
                                            "word/document.xml": b"<w:document"})  # fmt: skip
    if kind == "odt-bad-xml":
        return _zip(tmp_path / "bad.odt", {"mimetype": b"application/vnd.oasis.opendocument.text",
                                           "content.xml": b"<office:document-content"})  # fmt: skip
    if kind == "docx-not-zip":
        (tmp_path / "fake.docx").write_text("Dit is geen Word-bestand.")
        return tmp_path / "fake.docx"
    if kind == "other-zip":
        return _zip(tmp_path / "photos.docx", {"a.jpg": b"\xff\xd8"})
    if kind == "html-no-text":
        (tmp_path / "empty.html").write_text(
            "<!DOCTYPE html><html><body><nav>Home</nav></body></html>"
        )
        return tmp_path / "empty.html"
    if kind == "html-binary":
        (tmp_path / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        return tmp_path / "binary.html"
    if kind == "zip-bomb":
        return _zip_bomb(tmp_path / "bomb.docx")
    if kind == "zip-many":
        return _zip(tmp_path / "many.odt", {f"m{i}": b"" for i in range(10_001)})
    raise AssertionError(kind)


BROKEN = {
    "docx-truncated": "broken zip file (File is not a zip file)",
    # the messages of lxml and odfpy, as they are, after the kind of file
    "docx-bad-xml": "unreadable Word document (Couldn't find end of Start Tag Types line 1, "
    "line 1, column 7 (<string>, line 1))",
    "odt-bad-xml": 'unreadable OpenDocument file ("There is no item named '
    "'META-INF/manifest.xml' in the archive\")",
    "docx-not-zip": "not a Word document (not a zip file)",
    "other-zip": "not a Word document (a zip of another kind)",
    "html-no-text": "no main text in the web page",
    "html-binary": "binary file of an unsupported type",
    "zip-bomb": "refused: zip unpacks to 315 MB (more than 250 MB); zip bomb?",
    "zip-many": "refused: zip with 10001 members (more than 10000); zip bomb?",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_files_fail_with_one_exact_line(tmp_path, kind):
    with pytest.raises(IngestError) as e:
        load_file(_broken(kind, tmp_path))
    assert str(e.value) == BROKEN[kind]


# ---- PowerPoint, plain text, RTF and the encodings Windows tools save in ------------------
DECK_TITLE = "Digitale agenda Zoetermeer"
NOTES = "Vertel hier dat de privacytoets voor elke dataset geldt."
SLIDES = [  # (page, section, text) as the deck made by make_pptx reads
    (1, DECK_TITLE, f"{DECK_TITLE}.\n{ADOPTED}"),  # a title ends as a sentence too
    (2, "Open data", f"Open data.\n{OPEN_DATA}\n{PRIVACY}\n{NOTES}"),
    (4, "Inclusie", f"Inclusie.\n{INCLUSION}\n{TABLE_LINES}"),  # slide 3 has only a picture
]


def make_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])  # title slide
    first.shapes.title.text = DECK_TITLE
    first.placeholders[1].text = ADOPTED
    body = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    body.shapes.title.text = "Open data"
    frame = body.placeholders[1].text_frame
    frame.text = OPEN_DATA
    frame.add_paragraph().text = PRIVACY
    body.notes_slide.notes_text_frame.text = NOTES
    blank = deck.slides.add_slide(deck.slide_layouts[6])  # no text at all: no segment
    blank.shapes.add_shape(1, Inches(1), Inches(1), Inches(2), Inches(2))
    tables = deck.slides.add_slide(deck.slide_layouts[5])  # title only, and a table
    tables.shapes.title.text = "Inclusie"
    tables.shapes.add_textbox(Inches(1), Inches(1.5), Inches(6), Inches(1)).text = INCLUSION
    shape = tables.shapes.add_table(len(TABLE), len(TABLE[0]), Inches(1), Inches(3),
                                    Inches(6), Inches(2))  # fmt: skip
    for i, row in enumerate(TABLE):
        for j, value in enumerate(row):
            shape.table.cell(i, j).text = value
    deck.save(str(path))
    return path


def test_pptx_each_slide_is_a_page_with_its_notes_and_tables(tmp_path):
    doc = load_file(make_pptx(tmp_path / "raad.pptx"), municipality="Zoetermeer").documents[0]
    assert [(s.page, s.section, s.text) for s in doc.segments] == SLIDES
    assert doc.pages == 4
    assert doc.title == DECK_TITLE  # python-pptx's "PowerPoint Presentation" is no title
    assert doc.meta["date"] == "2024-03-12"
    assert doc.language == "nl"


BODY = f"{INTRO}\n{OPEN_DATA}\n\n{INCLUSION} Café en € blijven leesbaar.\n\n{ADOPTED}"
NOTE_TITLE = "Notities overleg digitale agenda"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
     ("utf-16-be", b"\xfe\xff"), ("cp1252", b"")],
)  # fmt: skip
def test_text_files_are_decoded_whatever_windows_saved_them_in(tmp_path, encoding, bom):
    path = tmp_path / "notities.txt"
    path.write_bytes(bom + f"{NOTE_TITLE}\r\n\r\n{BODY}\r\n".encode(encoding))
    doc = load_file(path).documents[0]
    assert [s.text for s in doc.segments] == [f"{NOTE_TITLE}\n\n{BODY}"]
    assert doc.segments[0].page is None and doc.segments[0].section is None
    assert doc.title == NOTE_TITLE
    assert doc.language == "nl"
    assert doc.meta["date"] == "2024-03-12"


def test_text_title_falls_back_to_the_file_name_when_the_first_line_is_a_sentence(tmp_path):
    path = tmp_path / "overleg_inclusie+2024.txt"
    path.write_text(f"{INCLUSION}\n{PRIVACY}\n", encoding="utf-8")
    doc = load_file(path).documents[0]
    assert doc.title == "Overleg inclusie 2024"
    assert doc.segments[0].text == f"{INCLUSION}\n{PRIVACY}"


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_markdown_in_windows_encodings_keeps_its_sections(tmp_path, encoding):
    path = tmp_path / "agenda.md"
    path.write_bytes(f"# {TITLE}\n\n{INTRO} Café.\n\n## Open data\n\n{OPEN_DATA}\n"
                     .encode(encoding))  # fmt: skip
    doc = load_file(path).documents[0]
    assert [(s.section, s.text) for s in doc.segments] == [
        (TITLE, f"{INTRO} Café."), (f"{TITLE} > Open data", OPEN_DATA)]  # fmt: skip
    assert doc.title == TITLE


# Written by hand as WordPad writes it: a font table and metadata (left out of the text),
# cp1252 escapes (\'e9), a Unicode escape with its fallback (\u8364 ?), paragraphs (\par).
RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}}"
    r"{\info{\author Gemeente Rijswijk}}\viewkind4\uc1\pard\f0\fs24 "
    r"Agenda digitale raad\par "
    + INTRO
    + r"\par Caf\'e9 en \u8364? blijven leesbaar.\par "
    + ADOPTED
    + r"\par }"
)
RTF_TEXT = f"Agenda digitale raad\n{INTRO}\nCafé en € blijven leesbaar.\n{ADOPTED}"


@pytest.mark.parametrize("name", ["agenda.rtf", "agenda-export.txt"])
def test_rtf_is_read_as_paragraphs_whatever_its_name(tmp_path, name):
    path = tmp_path / name
    path.write_text(RTF, encoding="ascii")
    doc = load_file(path).documents[0]
    assert [s.text for s in doc.segments] == [RTF_TEXT]
    assert doc.title == "Agenda digitale raad"
    assert doc.meta["date"] == "2024-03-12"
    assert doc.language == "nl"


# A password-protected Office file is an OLE2 compound file, not a zip; its directory names
# the stream "EncryptedPackage" in UTF-16-LE. The old binary .ppt is OLE2 without it.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
NEW_BROKEN = {
    "empty.txt": (b"", "empty file"),
    "blank.txt": (b" \r\n\t\r\n", "no text"),
    "bom-only.txt": (b"\xff\xfe", "no text"),
    "utf16-no-bom.txt": ("Notities".encode("utf-16-le"), "binary file of an unsupported type"),
    "agenda.rtf": (b"Dit is geen RTF.", "not an RTF file (no {\\rtf header)"),
    "empty.rtf": (b"", "empty file"),
    "text.pptx": (b"Dit is geen presentatie.", "not a PowerPoint file (not a zip file)"),
    "locked.pptx": (_OLE + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64,
                    "not a PowerPoint file (encrypted with a password; save it without one)"),
    "old.pptx": (_OLE + b"\x00" * 64,
                 "not a PowerPoint file (an old binary Office file; save it as .pptx)"),
    "photos.pptx": (None, "not a PowerPoint file (a zip of another kind)"),
    "bad-xml.pptx": (None, "unreadable PowerPoint file (Couldn't find end of Start Tag Types "
                           "line 1, line 1, column 7 (<string>, line 1))"),
    "no-text.pptx": (None, "no text in the PowerPoint file"),
    "photos.zip": (None, "unsupported zip file (not a Word, PowerPoint, Excel or OpenDocument "
                         "file)"),
    "old.doc": (_OLE + b"\x00" * 64,
                "not a Word document (an old binary Office file; save it as .docx)"),
    "notes.pages": (b"Notities", "unsupported file type '.pages'"),
}  # fmt: skip
# Spreadsheets, and CSV files that are read as tables.
XLSX_BROKEN = {
    "text.xlsx": (b"Dit is geen werkmap.", "not an Excel workbook (not a zip file)"),
    "locked.xlsx": (_OLE + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64,
                    "not an Excel workbook (encrypted with a password; save it without one)"),
    "old.xls": (_OLE + b"\x00" * 64,
                "not an Excel workbook (an old binary Office file; save it as .xlsx)"),
    "photos.xlsx": (None, "not an Excel workbook (a zip of another kind)"),
    "no-part.xlsx": (None, "unreadable Excel workbook (File contains no valid workbook part)"),
    "bad-xml.xlsx": (None, "unreadable Excel workbook (Couldn't find end of Start Tag Types "
                           "line 1, line 1, column 7 (<string>, line 1))"),
    "no-text.xlsx": (None, "no text in the Excel workbook"),
    "truncated.xlsx": (None, "broken zip file (File is not a zip file)"),
    "no-text.ods": (None, "no text in the OpenDocument spreadsheet"),
    "empty.csv": (b"", "empty file"),
    "blank.csv": (b";;\r\n;;\r\n", "no text"),
}  # fmt: skip
BROKEN_FILES = {**NEW_BROKEN, **XLSX_BROKEN}


def _new_broken(name: str, tmp_path: Path) -> Path:
    """The file of BROKEN_FILES named `name`: its bytes, a zip of the members `ZIPPED`
    gives, or a file a library writes (`_WRITTEN`)."""
    data, _ = BROKEN_FILES[name]
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    elif name in ZIPPED:
        _zip(path, ZIPPED[name])
    else:
        _WRITTEN[name](path)
    return path


ZIPPED = {
    "photos.pptx": {"a.jpg": b"\xff\xd8"},
    "photos.zip": {"a.jpg": b"\xff\xd8"},
    "photos.xlsx": {"a.jpg": b"\xff\xd8"},
    "bad-xml.pptx": {"[Content_Types].xml": b"<Types", "ppt/presentation.xml": b"<p:pres"},
    "bad-xml.xlsx": {"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<workbook"},
    "no-part.xlsx": {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"},
}


def _empty_deck(path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.save(str(path))


def _empty_workbook(path: Path) -> None:
    import openpyxl

    openpyxl.Workbook().save(path)


def _half_a_workbook(path: Path) -> None:
    whole = make_xlsx(path.with_name("whole.xlsx")).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def _empty_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table

    book = OpenDocumentSpreadsheet()
    book.spreadsheet.addElement(Table(name="Blad1"))
    book.save(str(path))


_WRITTEN = {"no-text.pptx": _empty_deck, "no-text.xlsx": _empty_workbook,
            "truncated.xlsx": _half_a_workbook, "no-text.ods": _empty_ods}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_new_kinds_of_broken_files_fail_with_one_exact_line(tmp_path, name):
    with pytest.raises(IngestError) as e:
        load_file(_new_broken(name, tmp_path))
    assert str(e.value) == BROKEN_FILES[name][1]


def test_a_broken_deck_does_not_stop_the_batch(fake_kb, tmp_path):
    broken = _new_broken("locked.pptx", tmp_path)
    notes = tmp_path / "notities.txt"
    notes.write_bytes(f"{NOTE_TITLE}\n\n{BODY}\n".encode("cp1252"))
    deck = make_pptx(tmp_path / "raad.pptx")
    results = fake_kb.ingest([broken, notes, deck], municipality="Zoetermeer")
    assert [(Path(r.name).name, r.status, r.reason) for r in results] == [
        ("locked.pptx", "failed",
         "not a PowerPoint file (encrypted with a password; save it without one)"),
        ("notities.txt", "added", ""),
        ("raad.pptx", "added", ""),
    ]  # fmt: skip
    by_name = {Path(r.name).name: r for r in results}
    assert fake_kb.store.document(by_name["notities.txt"].document_id).title == NOTE_TITLE
    chunks = fake_kb.store.chunks_of(by_name["raad.pptx"].document_id)
    assert sorted({c.page for c in chunks}) == [1, 2, 4]
    assert any(NOTES in c.text and c.page == 2 for c in chunks)


def test_hostile_one_line_rtf_is_read_in_bounded_time(tmp_path):
    """striprtf's hyperlink and font-table patterns were quadratic on a one-line file (270 KB
    took 9 s, this one minutes); broken into lines before parsing, it takes well under one."""
    fields = r"{\field{\*\fldinst{ HYPERLINK " * 30_000
    fonts = r"{\fonttbl " + r"\f1 x" * 100_000 + "}"
    link = r'{\field{\*\fldinst{HYPERLINK "https://example.org"}}{\fldrslt{de site}}}'
    path = tmp_path / "vijandig.rtf"
    path.write_text(r"{\rtf1" + fonts + r"\f1 Zie " + link + r" en \{x\} \\ " + fields + "}")
    started = time.monotonic()
    doc = load_file(path).documents[0]
    assert time.monotonic() - started < 10  # about 0.5 s here on a busy machine
    assert doc.segments[0].text == "Zie de site en {x} \\"


# ---- slide bullets end as sentences --------------------------------------------------------
BULLETS = ["Gegevens over afval en containers", "Parkeerdruk per straat in de binnenstad",
           "Luchtkwaliteit bij alle basisscholen meten!", "Welke data delen we niet (nog)?"]


def test_slide_bullets_end_as_sentences_that_the_composer_can_split(tmp_path):
    from pptx import Presentation

    from kb.text import sentences

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Wat we delen"
    frame = slide.placeholders[1].text_frame
    frame.text = BULLETS[0]
    for bullet in BULLETS[1:]:
        frame.add_paragraph().text = bullet
    deck.save(str(tmp_path / "open-data.pptx"))
    [segment] = load_file(tmp_path / "open-data.pptx").documents[0].segments
    assert segment.text == ("Wat we delen.\nGegevens over afval en containers.\n"
                            "Parkeerdruk per straat in de binnenstad.\n" + "\n".join(BULLETS[2:]))
    # Each bullet is its own sentence (the three-word title is too short to quote) ...
    assert sentences(segment.text) == [b if b[-1] in "!?" else b + "." for b in BULLETS]
    # ... where the bullets as they were typed run together (up to the first "!").
    typed = sentences("\n".join(["Wat we delen", *BULLETS]))
    assert typed[0] == "Wat we delen " + " ".join(BULLETS[:3])


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [("Open data", "Open data."), ("Wat kost het?", "Wat kost het?"), ("Doelen:", "Doelen:"),
     ("afval;", "afval;"), ("(zie bijlage)", "(zie bijlage)."), ("Meer volgt…", "Meer volgt…"),
     ('"Samen digitaal."', '"Samen digitaal."'), ("Datalab  ", "Datalab."), ("", ""),
     ("  ", "")],
)  # fmt: skip
def test_a_paragraph_gets_a_full_stop_only_when_it_ends_without_one(paragraph, expected):
    from ingest.text import as_sentence

    assert as_sentence(paragraph) == expected


# ---- spreadsheets (.xlsx, .ods) and CSV tables --------------------------------------------
BOOK_TITLE = "Begroting digitale agenda Delft"
# Every row line ends as a sentence, so that the composer quotes one row, not a sheet.
SHEET_LINES = (
    "Overzicht digitale projecten 2024.\n"  # a title row above the header stays a line
    "Project: Wijkapp; Wijk: Centrum; Budget (euro): 40000; Aandeel: 25%; Start: 2024-03-12; "
    "Totaal: 80000.\n"
    "Project: Datalab; Wijk: Noord; Budget (euro): 55000.5; Aandeel: 10%."  # no cached total
)
KPI_LINES = ("Indicator: Open datasets; 2023: 12; 2024: 20.\n"
             "Indicator: Deelnemers Hulpplein; 2023: 120; 2024: 180.")  # fmt: skip


def make_xlsx(path: Path, *, cached: bool = True) -> Path:
    """A workbook as a municipality keeps one: a title row, an empty row and column, a
    percentage, a date, formulas (the first with the value Excel saved), an empty sheet."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Projecten"
    sheet.append(["Overzicht digitale projecten 2024"])
    sheet.append([])
    sheet.append(["Project", None, "Wijk", "Budget (euro)", "Aandeel", "Start", "Totaal"])
    sheet.append(["Wijkapp", None, "Centrum", 40000, 0.25, dt.date(2024, 3, 12), "=D4*2"])
    sheet.append(["Datalab", None, "Noord", 55000.5, 0.1, None, "=D5*2"])
    for cell in ("E4", "E5"):
        sheet[cell].number_format = "0%"
    kpi = book.create_sheet("KPI")
    kpi.append(["Indicator", 2023, 2024])
    kpi.append(["Open datasets", 12, 20])
    kpi.append([None, None, None])
    kpi.append(["Deelnemers Hulpplein", 120, 180])
    book.create_sheet("Leeg")
    book.properties.title = BOOK_TITLE
    book.save(path)
    if cached:
        # openpyxl saves formulas without a value; Excel saves the value it computed.
        _replace_member(path, "xl/worksheets/sheet1.xml",
                        b"<f>D4*2</f><v></v>", b"<f>D4*2</f><v>80000</v>")  # fmt: skip
    return path


def _replace_member(path: Path, member: str, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    assert old in members[member]
    members[member] = members[member].replace(old, new)
    _zip(path, members)


def test_xlsx_each_sheet_is_a_section_of_rows_with_their_headers(tmp_path):
    doc = load_file(make_xlsx(tmp_path / "begroting.xlsx"), municipality="Delft").documents[0]
    assert [(s.section, s.text) for s in doc.segments] == [
        ("Projecten", SHEET_LINES), ("KPI", KPI_LINES)]  # fmt: skip
    assert doc.title == BOOK_TITLE
    assert doc.language == "nl"
    assert "truncated" not in doc.meta
    assert doc.pages is None and all(s.page is None for s in doc.segments)


def test_xlsx_formula_without_a_saved_value_is_left_out(tmp_path):
    doc = load_file(make_xlsx(tmp_path / "script.xlsx", cached=False)).documents[0]
    first = doc.segments[0].text.split("\n")[1]
    assert first == ("Project: Wijkapp; Wijk: Centrum; Budget (euro): 40000; Aandeel: 25%; "
                     "Start: 2024-03-12.")  # fmt: skip
    assert "D4" not in doc.segments[0].text and "=" not in doc.segments[0].text


def test_xlsx_title_falls_back_to_the_file_name_and_the_date_to_the_properties(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Naam", "Aantal"])
    book.active.append(["Sensoren", 14])
    path = tmp_path / "kpi_overzicht+2025.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as z:
        saved = z.read("docProps/core.xml")
    core = saved.decode()
    for name, date in (("created", "2025-01-15"), ("modified", "2025-02-01")):
        core = re.sub(rf"(<dcterms:{name}[^>]*>)\d{{4}}-\d\d-\d\d", rf"\g<1>{date}", core)
    _replace_member(path, "docProps/core.xml", saved, core.encode())
    doc = load_file(path).documents[0]
    assert doc.title == "Kpi overzicht 2025"
    assert doc.meta["date"] == "2025-02-01"  # the modified date, as for Word files
    assert doc.segments[0].text == "Naam: Sensoren; Aantal: 14."


def test_xlsx_rows_beyond_the_cap_are_left_out_and_said_so(tmp_path):
    import openpyxl

    from ingest.sheets import MAX_ROWS

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Meldingen"
    sheet.append(["Melding", "Wijk"])
    for i in range(1, MAX_ROWS + 5):
        sheet.append([f"M{i}", "Centrum"])
    small = book.create_sheet("Klein")
    small.append(["Wijk", "Aantal"])
    small.append(["Noord", 3])
    book.save(tmp_path / "meldingen.xlsx")
    doc = load_file(tmp_path / "meldingen.xlsx").documents[0]
    assert doc.meta["truncated"] == [{"sheet": "Meldingen", "rows_read": MAX_ROWS,
                                      "rows": MAX_ROWS + 5}]  # fmt: skip
    lines = doc.segments[0].text.split("\n")
    assert len(lines) == MAX_ROWS - 1  # the header row carries the others
    assert lines[-1] == f"Melding: M{MAX_ROWS - 1}; Wijk: Centrum."
    assert doc.segments[1].section == "Klein"  # the next sheet is still read
    assert doc.segments[1].text == "Wijk: Noord; Aantal: 3."


def make_ods(path: Path) -> Path:
    """The KPI sheet as LibreOffice saves it: formula results as text, empty columns and rows
    repeated to the sheet's edge, an empty run inside a row."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    def row(values: list[str | None]) -> TableRow:
        tr = TableRow()
        for value in values:
            if value is None:
                tr.addElement(TableCell(numbercolumnsrepeated=2))
                continue
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            tr.addElement(cell)
        tr.addElement(TableCell(numbercolumnsrepeated=1000))
        return tr

    book = OpenDocumentSpreadsheet()
    table = Table(name="KPI")
    table.addElement(row(["Indicator", None, "2023", "2024"]))
    table.addElement(row(["Open datasets", None, "12", "20"]))
    table.addElement(TableRow(numberrowsrepeated=3))
    table.addElement(row(["Deelnemers Hulpplein", None, "120", "180"]))
    table.addElement(TableRow(numberrowsrepeated=1_048_000))
    book.spreadsheet.addElement(table)
    book.spreadsheet.addElement(Table(name="Leeg"))
    book.save(str(path))
    return path


def test_ods_each_table_is_a_section_of_rows_with_their_headers(tmp_path):
    doc = load_file(make_ods(tmp_path / "kpi.ods")).documents[0]
    assert [(s.section, s.text) for s in doc.segments] == [("KPI", KPI_LINES)]
    assert doc.title == "Kpi"
    assert "truncated" not in doc.meta


def test_a_csv_without_project_columns_is_read_as_a_table(tmp_path):
    path = tmp_path / "kpi.csv"  # as Dutch Excel saves it: ';' and cp1252
    path.write_bytes("Indicator;2023;2024\r\nOpen datasets;12;20\r\n;;\r\n"
                     "Deelnemers Hulpplein;120;180\r\nCafé-bezoek;5;7\r\n".encode("cp1252"))
    doc = load_file(path, kind="other").documents[0]
    assert [(s.section, s.text) for s in doc.segments] == [
        (None, KPI_LINES + "\nIndicator: Café-bezoek; 2023: 5; 2024: 7.")]  # fmt: skip
    assert doc.title == "Kpi" and doc.kind == "other"
    # Declared a project list, the same file is refused as one, as before.
    with pytest.raises(IngestError, match=r"^CSV has no header with an 'id' column$"):
        load_file(path, kind="project")


def test_a_project_csv_saved_by_dutch_excel_is_still_a_project_list(tmp_path):
    from ingest.projects import load_yaml, to_csv

    corpus = Path(__file__).resolve().parents[1] / "corpus" / "projects"
    projects = [p for f in sorted(corpus.glob("*.yaml"))[:3] for p in load_yaml(f)]
    rows = list(csv.reader(io.StringIO(to_csv(projects))))
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)  # as Dutch Excel saves it
    path = tmp_path / "projecten.csv"
    path.write_bytes(buf.getvalue().encode("cp1252"))  # ... in Windows' own encoding
    assert buf.getvalue().startswith("id;title;municipality;")
    loaded = load_file(path)
    assert not loaded.errors
    assert [d.project_id for d in loaded.documents] == [p.id for p in projects]




def test_a_broken_workbook_does_not_stop_the_batch_and_a_good_one_answers(fake_kb, tmp_path):
    broken = _new_broken("locked.xlsx", tmp_path)
    book = make_xlsx(tmp_path / "begroting.xlsx")
    results = fake_kb.ingest([broken, book], municipality="Delft")
    assert [(Path(r.name).name, r.status, r.reason) for r in results] == [
        ("locked.xlsx", "failed",
         "not an Excel workbook (encrypted with a password; save it without one)"),
        ("begroting.xlsx", "added", ""),
    ]  # fmt: skip
    stored = fake_kb.store.document(results[1].document_id)
    assert stored.title == BOOK_TITLE
    answer = fake_kb.ask("Hoeveel deelnemers had het Hulpplein in 2024?")
    assert answer.answered
    top = answer.sources[0]
    assert (top.source, top.section) == ("begroting.xlsx", "KPI")
    assert "Indicator: Deelnemers Hulpplein; 2023: 120; 2024: 180." in answer.answer


def test_the_ingest_line_says_what_was_left_out():
    """A cut sheet or pages past the OCR time budget: added all the same, and the line says
    so, in the CLI and the app (a part is not taken for the whole)."""
    from kb.ingesting import left_out
    from kb.records import IngestResult
    from ui.app import result_line

    meta = {"truncated": [{"sheet": "Meldingen", "rows_read": 20000, "rows": 20005},
                          {"sheet": "Breed", "rows_read": 3, "columns_read": 256,
                           "columns": 300}],
            "ocr_skipped_pages": [4, 5]}  # fmt: skip
    note = left_out(meta)
    assert note == ("sheet 'Meldingen': only the first 20,000 rows read; sheet 'Breed': only "
                    "the first 256 columns read; no OCR within the time limit for page(s) 4, 5")
    assert left_out({}) == ""
    r = IngestResult("m.xlsx", "added", chunks=12, note=note)
    assert r.line() == f"added: m.xlsx (12 chunks; {note})"
    assert result_line(r, "nl") == f"toegevoegd: m.xlsx (12 passages; {note})"
    assert IngestResult("a.pdf", "added", chunks=2).line() == "added: a.pdf (2 chunks)"
