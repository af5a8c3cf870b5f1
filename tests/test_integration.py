"""With the real packaged model and the real PDFs of ../shared/data/pdfs."""

import pytest

pytestmark = pytest.mark.integration

EXPECTED_FAIL = {
    # a 16x16-pixel picture without letters: OCR runs and finds nothing
    "image-only-no-text.pdf": "no extractable text (scanned, and OCR found no text)",
    "broken-page-tree.pdf": "unreadable PDF",
    "encrypted-password-openpassword.pdf": "give its password",
    "encrypted-aes256-password-asdfzxcv.pdf": "give its password",
}
PASSWORDS = {
    "encrypted-password-openpassword.pdf": "openpassword",
    "encrypted-aes256-password-asdfzxcv.pdf": "asdfzxcv",
}


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory, real_embedder, shared_pdfs):
    from kb.core import KnowledgeBase

    kb = KnowledgeBase(tmp_path_factory.mktemp("real"), embedder=real_embedder)
    results = kb.ingest(sorted(shared_pdfs.glob("*.pdf")))
    yield kb, results
    kb.close()


def test_every_shared_pdf_gets_its_expected_outcome(real_kb, shared_pdfs):
    kb, results = real_kb
    by_file = {r.name.rsplit("/", 1)[-1]: r for r in results}
    assert set(by_file) == {p.name for p in shared_pdfs.glob("*.pdf")}
    for name, r in by_file.items():
        if name in EXPECTED_FAIL:
            assert r.status == "failed" and EXPECTED_FAIL[name] in r.reason, (name, r.reason)
        else:
            assert r.status == "added", (name, r.reason)
    assert "\n" not in "".join(r.reason for r in results)


def test_password_pdfs_open_with_their_password(real_kb, shared_pdfs):
    kb, _ = real_kb
    for name, pw in PASSWORDS.items():
        [r] = kb.ingest([shared_pdfs / name], password=pw)
        assert r.status == "added", r.reason


def test_ligatures_become_plain_letters(real_kb):
    kb, _ = real_kb
    doc = next(d for d in kb.store.documents() if d.source == "ligatures.pdf")
    text = " ".join(c.text for c in kb.store.chunks_of(doc.id))
    assert not any(ch in text for ch in "ﬀﬁﬂﬃﬄ")


def test_german_book_keeps_page_numbers(real_kb):
    kb, _ = real_kb
    doc = next(d for d in kb.store.documents() if d.source == "german-book-117-pages.pdf")
    assert doc.pages == 117
    pages = {c.page for c in kb.store.chunks_of(doc.id)}
    assert max(pages) > 100 and min(pages) >= 1


def test_reingest_reports_unchanged_and_embeds_nothing(real_kb, shared_pdfs):
    kb, _ = real_kb
    good = [shared_pdfs / n for n in ("nl-vng-common-ground-crash-course.pdf", "two-column.pdf")]
    before = kb.stats()["generation"]
    results = kb.ingest(good)
    assert {r.status for r in results} == {"unchanged"}
    assert kb.stats()["generation"] == before


@pytest.mark.parametrize(
    ("question", "source", "term"),
    [
        ("In welke situaties wordt zaakgericht registreren toegepast?",
         "nl-vng-common-ground-crash-course.pdf", "zaakgericht registreren"),
        ("Which KPIs are proposed for the environmental dimension?",
         "en-eu-ldt4ssc-impact-assessment-framework.pdf", "kpi"),
        ("Hoe hoog is de cofinanciering van de projecten?",
         "nl-dusi-rif-monitorrapportage-2023.pdf", "cofinanciering"),
    ],
)  # fmt: skip
def test_questions_cite_the_right_document_and_page(real_kb, shared_pdfs, question, source, term):
    """The first source is the right document, and the page it cites holds the answer's term."""
    import pypdf

    kb, _ = real_kb
    answer = kb.ask(question)
    assert answer.answered and "[1]" in answer.answer
    top = answer.sources[0]
    assert top.source == source
    page_text = pypdf.PdfReader(shared_pdfs / source).pages[top.page - 1].extract_text()
    assert term in page_text.lower()
