import pytest

from ingest.errors import IngestError
from ingest.loader import load_file
from tests.conftest import make_pdf

BODY = (
    "Gemeente Delft werkt aan een digitale strategie met aandacht voor open data en privacy. "
) * 4


def test_pages_keep_numbers_and_running_header_and_footer_are_dropped(tmp_path):
    topics = ["open data", "privacy", "de digitale tweeling", "inclusie", "cybersecurity"]
    pages = [f"Over {t}: {BODY.replace('open data', t)} Einde over {t}." for t in topics]
    path = make_pdf(tmp_path / "s.pdf", pages, header="Digitale Strategie Delft 2030")
    doc = load_file(path, kind="strategy").documents[0]
    assert [s.page for s in doc.segments] == [1, 2, 3, 4, 5]
    assert doc.pages == 5
    assert "Over de digitale tweeling" in doc.segments[2].text
    assert all("Digitale Strategie Delft 2030" not in s.text for s in doc.segments)
    assert all("Page " not in s.text for s in doc.segments)
    assert doc.language == "nl"
    assert doc.kind == "strategy"


def test_encrypted_pdf_needs_its_password(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "p.pdf", [BODY])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="geheim", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as f:
        writer.write(f)
    with pytest.raises(IngestError, match="password"):
        load_file(locked)
    with pytest.raises(IngestError, match="wrong password"):
        load_file(locked, password="fout")
    doc = load_file(locked, password="geheim").documents[0]
    assert "digitale strategie" in doc.segments[0].text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"just some text, not a pdf", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "unreadable PDF"),
    ],
)
def test_bad_files_raise_one_clear_reason(tmp_path, content, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason):
        load_file(path)


def test_truncated_real_pdf_is_one_clear_error(tmp_path):
    data = make_pdf(tmp_path / "full.pdf", [BODY] * 3).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"^unreadable PDF \(.+\)$"):
        load_file(cut)


def test_pdf_without_text_layer_is_reported_as_scanned(tmp_path):
    path = make_pdf(tmp_path / "blank.pdf", ["", ""], footer=False)
    with pytest.raises(IngestError, match=r"no extractable text \(scanned\?\)"):
        load_file(path)


def test_type_is_decided_by_content_not_name(tmp_path):
    real = make_pdf(tmp_path / "x.pdf", [BODY])
    renamed = tmp_path / "report.md"
    renamed.write_bytes(real.read_bytes())
    doc = load_file(renamed).documents[0]
    assert doc.pages == 1
