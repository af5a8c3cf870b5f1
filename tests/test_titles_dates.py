"""Titles people recognise and a date for every document, with the ranking of ingest.dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.dates import document_date, metadata_date
from ingest.loader import load_file
from ingest.titles import choose_title, from_file_name, meaningful
from tests.conftest import make_pdf


@pytest.mark.parametrize(
    "title",
    ["Datum: 18 maart 2024", "18 maart 2024", "VNG Realisatie", "Ministerie van BZK",
     "Strategie+2024+def.pdf", "LDT4SSC Impact assessment _Knowledge_Hub.docx",
     "Microsoft Word - agenda_v3.docx", "Untitled", "strategie-2024-def.v3", "  "],
)  # fmt: skip
def test_titles_that_are_no_titles(title):
    assert meaningful(title) is None


def test_a_title_equal_to_the_author_is_a_publisher():
    assert meaningful("Gemeente Delft Digitaal", others=("Gemeente Delft Digitaal",)) is None
    assert meaningful("Digitale agenda Delft 2025") == "Digitale agenda Delft 2025"


def test_title_falls_back_to_heading_then_file_name():
    p = Path("digitale_strategie+Maassluis-2024.pdf")
    assert choose_title("Datum: 1 mei 2024", "Samen digitaal", p) == "Samen digitaal"
    assert choose_title(None, "12 mei 2024", p) == "Digitale strategie Maassluis 2024"
    assert from_file_name(Path("a.pdf")) == "A"


@pytest.mark.parametrize(
    ("first", "full", "title", "meta", "expected"),
    [
        # 1. adoption beats everything, wherever it stands
        ("Strategie 2025–2028", "x\nDe raad stelde dit vast. Vastgesteld op 12 maart 2024.", "",
         [], "2024-03-12"),
        ("", "adopted by the city council on March 5, 2023", "", [], "2023-03-05"),
        # 2. a date label ("peildatum" is not one: a reference date inside the text)
        ("FAQ\nDatum: 18 maart 2024", "", "", ["D:20200101"], "2024-03-18"),
        ("Rapport", "Rapport\nOp de peildatum 1 november 2023 liepen er 80.", "", ["D:20240920"],
         "2024-09-20"),
        # 3. a period: its start year
        ("Digitale agenda 2025 - 2028", "", "", ["D:20240101"], "2025"),
        ("", "", "Visie 2026 t/m 2030", [], "2026"),
        # 4. a date or month on the first page
        ("Monitor\nseptember 2024", "", "", ["D:20230101"], "2024"),
        # 5. metadata, weakest; a target year alone is no date
        ("Strategie 2030", "", "Strategie 2030", ["D:20240920124254+02'00'"], "2024-09-20"),
        ("Strategie 2030", "", "", [], None),
    ],
)  # fmt: skip
def test_date_ranking(first, full, title, meta, expected):
    assert document_date(first, full or first, title, meta) == expected


def test_metadata_dates():
    assert metadata_date("D:20240918120000+02'00'") == "2024-09-18"
    assert metadata_date("2013-12-23T23:15:00Z") == "2013-12-23"
    assert metadata_date("gisteren") is None


def test_pdf_title_from_the_largest_line_and_date_from_the_text(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Datum: 18 maart 2024")  # what real government PDFs carry
    pdf.add_page()
    pdf.set_font("Helvetica", size=22)
    pdf.multi_cell(0, 10, "Veelgestelde vragen over de digitale agenda",
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Datum: 18 maart 2024\nDe gemeente beantwoordt vragen over open data.")
    path = tmp_path / "faq+digitale_agenda.pdf"
    pdf.output(str(path))
    doc = load_file(path).documents[0]
    assert doc.title == "Veelgestelde vragen over de digitale agenda"
    assert doc.meta["date"] == "2024-03-18"
    plain = make_pdf(tmp_path / "notitie_open+data.pdf", ["Een korte notitie zonder kop."])
    assert load_file(plain).documents[0].title == "Notitie open data"
