"""OCR of PDF pages without a usable text layer: render with pdfium, read with tesseract.

Runs inside the PDF worker (`ingest.worker`), so a scan shares the worker's time budget and
memory cap. Tesseract is called as a program (Debian's `tesseract-ocr` with the Dutch and
English models); where it is missing, one line says how to install it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass

from ingest.errors import IngestError

INSTALL_HINT = "install it with: apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng"
# 300 dpi is what tesseract is trained for; a larger page is scaled down to this many pixels
# on its long side so that an oversized page cannot claim the worker's memory.
DPI = 300
MAX_SIDE_PX = 5000
LANGUAGES = ("nld", "eng")
# A page needs OCR when its text layer is shorter than this and a picture covers most of it
# (a scanner's stamp such as "Scanned by ..." is shorter; a slide's real caption stays).
SHORT_TEXT = 40
IMAGE_SHARE = 0.5


@dataclass(frozen=True)
class OcrConfig:
    """How pages are OCR'd.

    Attributes:
        threads: tesseract's threads per page (OMP_THREAD_LIMIT).
        page_timeout: seconds one page may take.
        budget: seconds all OCR of one PDF may take (0: no limit). Pages beyond it are left
            without text and listed, so that a long scan on a slow machine keeps what was
            read instead of losing everything at the worker's time budget.
    """

    threads: int = 1
    page_timeout: float = 60.0
    budget: float = 0.0


class TesseractMissing(IngestError):
    """Raised when a page needs OCR and no usable tesseract with nld and eng is installed."""


def tesseract_languages() -> str:
    """The `-l` argument: the installed ones of nld and eng, Dutch first.

    Raises:
        TesseractMissing: no tesseract, or neither language model installed.
    """
    exe = shutil.which("tesseract")
    if exe is None:
        raise TesseractMissing(
            f"scanned pages need OCR but tesseract is not installed; {INSTALL_HINT}"
        )
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TesseractMissing(f"tesseract does not run ({e}); {INSTALL_HINT}") from e
    have = set(out.stdout.split())
    langs = [lang for lang in LANGUAGES if lang in have]
    if not langs:
        raise TesseractMissing(f"tesseract has no Dutch or English model; {INSTALL_HINT}")
    return "+".join(langs)


def ocr_image(png: bytes, langs: str, config: OcrConfig) -> str:
    """Text of one page image (PNG bytes) by tesseract."""
    env = dict(os.environ)
    # Tesseract's OpenMP threads slow down 10-20x on a busy 2-core machine: one per page.
    env["OMP_THREAD_LIMIT"] = str(max(1, config.threads))
    try:
        out = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", langs, "--psm", "3"],
            input=png, capture_output=True, timeout=config.page_timeout, env=env,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        raise IngestError(f"OCR of a page took longer than {config.page_timeout:g} s") from e
    except OSError as e:
        raise TesseractMissing(f"tesseract does not run ({e}); {INSTALL_HINT}") from e
    if out.returncode != 0:
        msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise IngestError(f"OCR failed ({msg[-1][:160] if msg else out.returncode})")
    return out.stdout.decode("utf-8", "replace")


def render_page(page) -> bytes:  # page: pypdfium2.PdfPage
    """A pdfium page as a greyscale PNG at 300 dpi (less for a huge page)."""
    width, height = page.get_size()  # points, 72 per inch
    scale = DPI / 72
    longest = max(width, height) * scale
    if longest > MAX_SIDE_PX:
        scale *= MAX_SIDE_PX / longest
    # A tiny page (a stamp-sized image) is scaled up so that tesseract sees letters at all.
    if longest < 1000:
        scale *= 1000 / max(longest, 1)
    image = page.render(scale=scale, grayscale=True).to_pil()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def image_share(page) -> float:
    """The fraction of the page's area covered by its largest picture."""
    import pypdfium2.raw as raw

    width, height = page.get_size()
    area = max(width * height, 1e-6)
    best = 0.0
    try:
        for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=3):
            left, bottom, right, top = obj.get_bounds()
            best = max(best, (right - left) * (top - bottom) / area)
    except Exception:  # noqa: BLE001 - an odd object only means we cannot tell
        return 0.0
    return min(best, 1.0)


_WORD_LETTERS = re.compile(r"[^\W\d_]+")
_VOWELS = set("aeiouyàáâäèéêëìíîïòóôöùúûü")


def is_mojibake(text: str) -> bool:
    """True for a text layer that is garbage: a broken font map rather than words.

    Signs: many characters from private-use areas, replacement characters, control or
    unassigned code points, pdfminer-style `(cid:12)` codes; or Latin "words" with almost no
    vowels (letters shifted by a wrong encoding), which Dutch and English never have.
    """
    stripped = "".join(text.split())
    if len(stripped) < 20:
        return False
    bad = 0
    for ch in stripped:
        cat = unicodedata.category(ch)
        if cat in ("Co", "Cn", "Cc", "Cs") or ch == "\ufffd":
            bad += 1
    if bad / len(stripped) > 0.1 or text.count("(cid:") >= 5:
        return True
    letters = [c.lower() for w in _WORD_LETTERS.findall(text) for c in w if c.isascii()]
    if len(letters) >= 200:
        vowels = sum(c in _VOWELS for c in letters)
        if vowels / len(letters) < 0.2:
            return True
    return False
