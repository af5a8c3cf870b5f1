"""Tables keep their meaning (rows carry their headers); two-column pages keep their order."""

from __future__ import annotations

import pytest

from ingest.loader import load_file
from ingest.tables import markdown_tables_to_lines, table_lines


def test_rows_carry_their_column_headers_and_a_title_row_stays_a_line():
    rows = [
        ["Tabel 3: Deelnemers per jaar", None, None],
        ["Indicator", "2022", "2023"],
        ["Deelnemers", "10", "12"],
        ["Budget", "1,2", ""],
    ]
    assert table_lines(rows) == [
        "Tabel 3: Deelnemers per jaar",
        "Indicator: Deelnemers; 2022: 10; 2023: 12",
        "Indicator: Budget; 2022: 1,2",
    ]


def test_row_labels_without_a_header_and_data_rows_that_are_no_header():
    # The label column often has no header; a first row of figures is data, not a header.
    assert table_lines([["", "2019", "Totaal"], ["Noordwest", "30%", "32%"]]) == [
        "Noordwest; 2019: 30%; Totaal: 32%"
    ]
    assert table_lines([["Lelystad", "5"], ["Emmen", "3"]]) == ["Lelystad; 5", "Emmen; 3"]


def test_single_column_boxes_are_dropped_when_asked():
    box = [["Een kader met tekst."], ["Nog een regel."]]
    assert table_lines(box) == ["Een kader met tekst.", "Nog een regel."]
    assert table_lines(box, single_column=False) == []


def test_markdown_pipe_tables_become_rows_with_headers():
    md = "Tekst.\n| Jaar | Deelnemers |\n|---|---|\n| 2023 | 120 |\nMeer tekst."
    assert markdown_tables_to_lines(md) == "Tekst.\nJaar: 2023; Deelnemers: 120\nMeer tekst."


def test_pdf_table_made_here_becomes_its_own_segment_with_headers(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Het programma groeit: de tabel hieronder geeft de deelnemers per jaar.")
    pdf.ln(4)
    pdf.cell(0, 6, "Tabel 1: Deelnemers en budget", new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:  # ruled lines, as in most reports
        for row in [["Onderdeel", "2022", "2023"], ["Deelnemers", "10", "12"],
                    ["Budget (euro)", "40.000", "55.000"]]:  # fmt: skip
            r = table.row()
            for cell in row:
                r.cell(cell)
    path = tmp_path / "tabel.pdf"
    pdf.output(str(path))
    doc = load_file(path).documents[0]
    assert [s.page for s in doc.segments] == [1, 1]
    prose, rows = (s.text for s in doc.segments)
    assert rows == (
        "Tabel 1: Deelnemers en budget\n"
        "Onderdeel: Deelnemers; 2022: 10; 2023: 12\n"
        "Onderdeel: Budget (euro); 2022: 40.000; 2023: 55.000"
    )
    assert "Deelnemers 10 12" not in prose  # the raw number row left the page text
    assert prose.startswith("Het programma groeit")
    without = load_file(path, tables=False).documents[0]
    assert len(without.segments) == 1 and "Deelnemers 10 12" in without.segments[0].text


@pytest.mark.integration
def test_dusi_report_rows_carry_years(shared_pdfs):
    doc = load_file(shared_pdfs / "nl-dusi-rif-monitorrapportage-2023.pdf",
                    pdf_timeout=300, pdf_memory_mb=2048).documents[0]  # fmt: skip
    page12 = "\n".join(s.text for s in doc.segments if s.page == 12)
    assert "Noordwest; 2019: 30%; 2020: 38%; 2021: 33%; 2022: 33%; 2023: 25%; Totaal: 32%" in page12
    page11 = "\n".join(s.text for s in doc.segments if s.page == 11)
    assert "Totale cofinanciering; 2019: € 43.756.182,00;" in page11
    assert "cofinanciering 43.756.182,00€" not in page11  # the raw row is gone
    assert doc.title == "Monitorrapportage 2023"  # its /Title is empty: the largest line
    assert doc.meta["date"] == "2024-09-20"  # no date in the text: the PDF's creation date


def test_two_column_page_reads_column_by_column(shared_pdfs):
    """pypdf keeps the columns apart; pdfplumber's default would interleave their lines."""
    doc = load_file(shared_pdfs / "two-column.pdf").documents[0]
    text = doc.segments[0].text
    assert "This is a sample document with two columns filled\nwith Lorem Ipsum text." in text
    left_end, right_start = text.index("Donec varius orci"), text.index("pellentesque ante")
    assert left_end < right_start
    assert doc.title == "Two-Column Document with Lorem Ipsum"
    assert doc.meta["date"] == "2024-01-03"  # "January 3, 2024" under the title
