"""OCR of scanned PDFs with the real tesseract: scans made here from known Dutch text."""

from __future__ import annotations

import difflib
import random
import shutil
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loader import load_file
from ingest.ocr import is_mojibake
from tests.conftest import make_pdf

# Our own sample text (illustrative), with Dutch diacritics and figures.
PAGES = [
    "De gemeente Zoetermeer wil in 2027 al haar dienstverlening digitaal aanbieden. "
    "Inwoners regelen een paspoort, een parkeervergunning of een melding openbare ruimte "
    "online, maar wie dat niet kan, krijgt hulp aan de balie of thuis. De ambitie is dat "
    "negentig procent van de aanvragen binnen vijf werkdagen is afgehandeld. Privacy en "
    "informatiebeveiliging zijn daarbij geen bijzaak: elke nieuwe toepassing krijgt een "
    "gegevensbeschermingseffectbeoordeling voordat zij in gebruik gaat.",
    "Voor de openbare ruimte komen er 250 sensoren die luchtkwaliteit, geluid en de "
    "bezetting van fietsenstallingen meten. De gegevens worden als open data gedeeld, "
    "tenzij ze herleidbaar zijn tot personen. Samen met Delft, Rijswijk en Westland bouwt "
    "de gemeente een regionale digitale tweeling. Het budget voor 2025 bedraagt 1,2 miljoen "
    "euro; de gemeenteraad evalueert het programma ieder jaar in het voorjaar.",
]
# Measured on these scans (tesseract 5.3, nld+eng): 1.000 on every page; the bound leaves room
# for another tesseract build without letting a broken OCR through.
MIN_ACCURACY = 0.98

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed (CI installs it)"
)


def scan_images(tmp_path: Path, pages: list[str], *, seed: int = 7) -> list:
    """Each text page rendered at 200 dpi, rotated slightly, blurred and noised (PIL images)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    text_pdf = make_pdf(tmp_path / "text.pdf", pages, footer=False)
    rng = random.Random(seed)
    images = []
    doc = pdfium.PdfDocument(str(text_pdf))
    for i in range(len(doc)):
        img = doc[i].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
        img = img.rotate(rng.choice([-1.2, 0.8, 1.5]), expand=True, fillcolor=255)
        img = img.filter(ImageFilter.GaussianBlur(0.8))
        noise = Image.effect_noise(img.size, 24)
        images.append(Image.blend(img, noise, 0.12))
    doc.close()
    return images


def make_scan(tmp_path: Path, pages: list[str]) -> Path:
    """An image-only PDF of `pages`, as a scanner makes it."""
    images = scan_images(tmp_path, pages)
    scan = tmp_path / "scan.pdf"
    images[0].save(scan, save_all=True, append_images=images[1:], resolution=200)
    return scan


def accuracy(expected: str, got: str) -> float:
    """Character similarity of two texts, whitespace ignored (line breaks differ by design)."""
    a, b = " ".join(expected.split()), " ".join(got.split())
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@needs_tesseract
def test_scanned_dutch_pdf_is_read_by_ocr_with_pages_and_flag(tmp_path):
    scan = make_scan(tmp_path, PAGES)
    import pypdf

    assert all(not (p.extract_text() or "").strip() for p in pypdf.PdfReader(scan).pages)
    doc = load_file(scan, kind="strategy", pdf_timeout=120, pdf_memory_mb=2048).documents[0]
    assert [s.page for s in doc.segments] == [1, 2]
    assert doc.meta["ocr_pages"] == [1, 2]
    assert doc.language == "nl"
    for expected, seg in zip(PAGES, doc.segments, strict=True):
        assert accuracy(expected, seg.text) >= MIN_ACCURACY, seg.text
    assert "gegevensbeschermingseffectbeoordeling" in doc.segments[0].text
    assert "1,2 miljoen" in doc.segments[1].text


@needs_tesseract
def test_a_pdf_with_a_text_layer_is_not_ocrd(tmp_path):
    doc = load_file(make_pdf(tmp_path / "t.pdf", PAGES)).documents[0]
    assert "ocr_pages" not in doc.meta
    assert doc.segments[0].text.startswith("De gemeente Zoetermeer")


def test_short_real_text_layer_is_not_called_scanned(tmp_path):
    letter = make_pdf(tmp_path / "brief.pdf", ["Geachte raad, akkoord. Met vriendelijke groet."])
    doc = load_file(letter, ocr=False).documents[0]
    assert doc.segments[0].text == "Geachte raad, akkoord. Met vriendelijke groet.\nPage 1"


def test_missing_tesseract_is_one_line_with_the_install_hint(tmp_path, monkeypatch):
    scan = make_scan(tmp_path, PAGES[:1])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no tesseract on it
    with pytest.raises(IngestError) as e:
        load_file(scan)
    assert str(e.value) == (
        "scanned pages need OCR but tesseract is not installed; install it with: "
        "apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng"
    )


@needs_tesseract
def test_stamp_sized_image_without_letters_says_ocr_found_nothing(shared_pdfs):
    with pytest.raises(IngestError) as e:
        load_file(shared_pdfs / "image-only-no-text.pdf", pdf_timeout=60, pdf_memory_mb=2048)
    assert str(e.value) == "no extractable text (scanned, and OCR found no text)"


@pytest.mark.parametrize(
    ("text", "garbage"),
    [
        ("De gemeente deelt open data over luchtkwaliteit en geluid. " * 5, False),
        ("The municipality shares open data on air quality and noise. " * 5, False),
        ("\ue000\ue011\ue022 \ue033\ue044\ue055 " * 20, True),  # private-use glyph codes
        ("(cid:12)(cid:45)(cid:3) " * 10, True),
        ("Xq wrtsd qkpf vbnm kdfgt zxcv plmnkj hgfds wrtpl " * 6, True),
    ],
)
def test_mojibake_detection(text, garbage):
    assert is_mojibake(text) is garbage


@needs_tesseract
def test_garbage_text_layer_is_replaced_by_ocr(tmp_path):
    """A page whose text layer is letter salad (a broken font map) over a scan is OCR'd."""
    from fpdf import FPDF

    [image] = scan_images(tmp_path, PAGES[:1])
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=210)
    pdf.set_font("Helvetica", size=8)
    pdf.set_text_color(255, 255, 255)  # invisible, as a broken layer over a scan often is
    pdf.multi_cell(0, 5, "Xq wrtsd qkpf vbnm kdfgt zxcv plmnkj hgfds wrtpl " * 8)
    path = tmp_path / "mojibake.pdf"
    pdf.output(str(path))
    doc = load_file(path).documents[0]
    assert doc.meta["ocr_pages"] == [1]
    assert "wrtsd" not in doc.segments[0].text
    assert accuracy(PAGES[0], doc.segments[0].text) >= MIN_ACCURACY


@needs_tesseract
@pytest.mark.integration
def test_question_is_answered_from_a_scan_with_its_page(tmp_path, real_embedder):
    from kb.core import KnowledgeBase

    base = KnowledgeBase(tmp_path / "home", embedder=real_embedder)
    try:
        [result] = base.ingest([make_scan(tmp_path, PAGES)], kind="strategy")
        assert result.status == "added", result.reason
        top = base.retrieve("Hoeveel sensoren komen er in de openbare ruimte?", k=3)[0].chunk
        assert top.page == 2 and "250 sensoren" in top.text.lower()
    finally:
        base.close()


@needs_tesseract
def test_ocr_beyond_its_time_budget_is_one_line(tmp_path):
    """A scan that needs more OCR time than it gets says so, not a worker killed mid-page."""
    from ingest.ocr import OcrConfig
    from ingest.pdf import read_pdf

    scan = make_scan(tmp_path, PAGES)
    with pytest.raises(IngestError) as e:
        read_pdf(scan, ocr=OcrConfig(budget=1e-9))
    assert str(e.value) == (
        "no extractable text: OCR ran out of its time budget after 0 of 2 pages "
        "(raise KB_PDF_TIMEOUT)"
    )
