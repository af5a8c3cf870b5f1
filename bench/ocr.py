"""OCR on scans made from known Dutch text: pages/s (1 and 2 tesseract threads), character
accuracy, and a question answered from the scanned PDF with the right page.

The scans are made as in tests/test_ocr.py (text PDF rendered at 200 dpi, rotated slightly,
blurred, noised, saved as an image-only PDF). The question goes through
`kb.core.KnowledgeBase` (public `ingest` and `retrieve`) with the real default model.

    OMP_NUM_THREADS=1 .venv/bin/python bench/ocr.py [--copies 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTION = "Hoeveel sensoren komen er in de openbare ruimte?"
ANSWER_PAGE = 2  # PAGES[1] holds "250 sensoren"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=3, help="the two sample pages, this many times")
    args = ap.parse_args()
    from ingest.loader import load_file
    from tests.test_ocr import PAGES, accuracy, make_scan

    with tempfile.TemporaryDirectory(prefix="kb-bench-ocr-") as tmp:
        scan = make_scan(Path(tmp), PAGES * args.copies)
        n = len(PAGES) * args.copies
        for threads in (1, 2):
            t = time.perf_counter()
            doc = load_file(scan, ocr_threads=threads, pdf_timeout=600, pdf_memory_mb=2048)
            dt = time.perf_counter() - t
            acc = [
                accuracy(PAGES[i % len(PAGES)], s.text)
                for i, s in enumerate(doc.documents[0].segments)
            ]
            print(f"threads={threads}: {n} pages in {dt:.1f} s = {n / dt:.2f} pages/s; character "
                  f"accuracy min {min(acc):.3f}, mean {sum(acc) / len(acc):.3f}")  # fmt: skip

        import kb.core

        base = kb.core.KnowledgeBase(Path(tmp) / "home")
        [r] = base.ingest([make_scan(Path(tmp), PAGES)])
        hits = base.retrieve(QUESTION, k=5)
        top = hits[0].chunk
        print(f"ingest: {r.status}; question {QUESTION!r}: top hit page {top.page} "
              f"(expected {ANSWER_PAGE}), {'right' if top.page == ANSWER_PAGE else 'WRONG'}; "
              f"text: {top.text[:80]!r}")  # fmt: skip
        base.close()


if __name__ == "__main__":
    main()
