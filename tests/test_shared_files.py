"""Every shared real PDF through `load_file`: each gives a document or one exact line."""

from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.loader import load_file

pytestmark = pytest.mark.integration

PASSWORDS = {
    "encrypted-password-openpassword.pdf": "openpassword",
    "encrypted-aes256-password-asdfzxcv.pdf": "asdfzxcv",
}
FAILS = {
    "broken-page-tree.pdf": "unreadable PDF (Invalid object in /Pages)",
    "image-only-no-text.pdf": "no extractable text (scanned, and OCR found no text)",
}
# Titles people recognise: where the metadata title is a file name or a publisher, the
# largest line of the first page.
TITLES = {
    "en-eu-ldt4ssc-impact-assessment-framework.pdf": "LDT4SSC Impact Assessment Framework",
    "nl-vng-common-ground-crash-course.pdf": "Crash course zaakgericht werken",
    "nl-dusi-rif-monitorrapportage-2023.pdf": "Monitorrapportage 2023",
    "german-book-117-pages.pdf": "Geometrie und Topologie",
}


def test_every_shared_pdf_gives_a_document_or_one_line(shared_pdfs):
    seen = set()
    for path in sorted(shared_pdfs.glob("*.pdf")):
        seen.add(path.name)
        kwargs = {"password": PASSWORDS.get(path.name), "pdf_timeout": 300,
                  "pdf_memory_mb": 2048}  # fmt: skip
        if path.name in FAILS:
            with pytest.raises(IngestError) as e:
                load_file(path, **kwargs)
            assert str(e.value) == FAILS[path.name]
            continue
        doc = load_file(path, **kwargs).documents[0]
        assert doc.segments and doc.pages >= 1, path.name
        if path.name in TITLES:
            assert doc.title == TITLES[path.name]
        if path.name in PASSWORDS:
            with pytest.raises(IngestError) as e:
                load_file(path)
            assert str(e.value) == "encrypted PDF: give its password with --password"
    assert set(FAILS) | set(TITLES) | set(PASSWORDS) <= seen
