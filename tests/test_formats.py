"""Word, OpenDocument and saved web pages: sections, text, tables and one-line failures."""

from __future__ import annotations

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
