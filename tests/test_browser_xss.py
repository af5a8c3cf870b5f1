"""Document text is data, never markup: hostile text in a PDF and a project record is shown
literally in a real browser and nothing in it runs (Chromium via Playwright, like
tests/test_browser.py, against a live server with the tiny hashing embedder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from bench.load import running_server
from tests.browser_tools import open_tab, wait_ready
from tests.conftest import CORPUS, make_pdf
from tests.test_browser import page, upload_in_browser  # noqa: F401  (page: fixture; skips without chromium)

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
LINK = "[click](javascript:window.__xss=3)"
QUESTION = "Wat houdt het quokka register van Zwijndrecht bij?"

# Everything the page can do with hostile text, checked in the page itself.
INERT_JS = """() => {
  const hrefs = [...document.querySelectorAll('[href],[src],[action],[formaction]')]
    .flatMap(e => ['href', 'src', 'action', 'formaction'].map(a => e.getAttribute(a) || ''))
    .filter(v => v.replace(/\\s/g, '').toLowerCase().startsWith('javascript:'));
  return {
    xss: typeof window.__xss,
    // Gradio's own config script holds the text as JSON data (with '<' as \\u003c); an
    // injected script would sit inside the app or be the payload's code itself.
    scripts: document.querySelectorAll('gradio-app script, .gradio-container script').length
      + [...document.scripts].filter(s => /^\\s*window\\.__xss/.test(s.textContent)).length,
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(
      a => a.name.startsWith('on') && a.value.includes('__xss'))).length,
    images: document.querySelectorAll('img[src="x"]').length,
    iframes: [...document.querySelectorAll('iframe')].filter(f => !f.src.startsWith('http://127.0.0.1')).length,
    javascript_urls: hrefs,
  };
}"""
INERT = {"xss": "undefined", "scripts": 0, "handlers": 0, "images": 0, "iframes": 0,
         "javascript_urls": []}  # fmt: skip


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A store holding a PDF and a project record full of markup, served by `kb serve`."""
    home = tmp_path_factory.mktemp("xsshome")
    src = tmp_path_factory.mktemp("xsssrc")
    make_pdf(src / "quokka.pdf", [
        f"{SCRIPT}\nHet quokka register van Zwijndrecht telt de quokka's in de polder.\n"
        f"{IMG}\n{LINK}\nHet register houdt ook de voederplaatsen bij.",
    ], footer=False)  # fmt: skip
    record = {
        "id": "zwijndrecht-quokka-register", "title": f"Quokka register {IMG}",
        "municipality": "zwijndrecht", "themes": ["data"], "building_blocks": ["data-management"],
        "stage": "foundations", "status": "pilot", "start_year": 2024, "language": "nl",
        "summary": f"{SCRIPT} Het quokka register telt quokka's.",
        "description": f"{LINK} Het quokka register van Zwijndrecht houdt alle quokka's bij "
                       "en deelt de tellingen met de buurgemeenten.",
    }  # fmt: skip
    (src / "quokka.yaml").write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "KB_HOME": str(home), "KB_EMBED_MODEL": "hash",
           "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip
    env.pop("KB_AUTH", None)
    kb = [sys.executable, "-c", "from ui.cli import main; main()"]
    base = src / "base"  # the guide (for the Check tab) and the municipalities (for the map)
    shutil.copytree(CORPUS / "guide", base / "guide", ignore=shutil.ignore_patterns("pdf"))
    shutil.copy(CORPUS / "municipalities.yaml", base / "municipalities.yaml")
    (base / ".kbignore").write_text("municipalities.yaml\n")
    subprocess.run(kb + ["ingest", str(base), "-q"], env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    for path, kind in ((src / "quokka.pdf", "strategy"), (src / "quokka.yaml", "project")):
        args = ["ingest", str(path), "--kind", kind, "--municipality", "Zwijndrecht", "-q"]
        subprocess.run(kb + args, env=env, check=True, timeout=300, capture_output=True)
    with running_server(env) as url:
        yield url


def _visible_text(pg) -> str:
    return pg.locator("body").inner_text()


@pytest.mark.browser
@pytest.mark.integration
def test_hostile_document_text_is_shown_literally_and_never_runs(page, hostile_server, tmp_path):  # noqa: F811
    page.goto(hostile_server, wait_until="load")
    wait_ready(page)
    page.locator("#question textarea").fill(QUESTION)
    page.locator("#ask").click()
    page.get_by_text("Antwoord gereed.").wait_for(timeout=60_000)
    page.get_by_text("Quokka register", exact=False).first.wait_for(timeout=30_000)
    # The sources fold open on request; each source opens in the viewer (a PDF page, or
    # the record as text): hostile text stays text in all of them.
    page.locator("#sources-panel > button, #sources-panel .label-wrap").first.click()
    for i in range(page.locator("#source-pick label").count()):
        page.locator("#source-pick label").nth(i).click()
        page.locator("#viewer img, #viewer-text h2").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        assert page.evaluate(INERT_JS) == INERT
    page.wait_for_timeout(1500)  # an injected image would have failed to load by now
    page.screenshot(path=str(tmp_path / "xss-ask.png"), full_page=True)
    assert page.evaluate(INERT_JS) == INERT
    text = _visible_text(page)
    for payload in (SCRIPT, IMG, LINK):  # the PDF's and the record's text, as written
        assert payload in text, (payload, text[:3000])
    assert f"Quokka register {IMG}" in text  # the project's title (answer and cards)

    open_tab(page, "projects")
    page.locator("#project-text textarea").fill("quokka register tellingen")
    page.locator("#find").click()
    page.locator("#projects-table").get_by_text("Quokka register", exact=False).filter(
        visible=True).first.wait_for(timeout=60_000)  # fmt: skip
    page.wait_for_timeout(1000)
    page.screenshot(path=str(tmp_path / "xss-projects.png"), full_page=True)
    assert page.evaluate(INERT_JS) == INERT
    assert f"Quokka register {IMG}" in page.locator("#projects-table").inner_text()

    open_tab(page, "documents")
    page.locator("#documents").get_by_text("Quokka register", exact=False).filter(
        visible=True).first.wait_for(timeout=30_000)  # fmt: skip
    hostile = make_pdf(tmp_path / "nieuw <b>vet<b> plan.pdf", [
        "<svg onload=window.__xss=4></svg> Het nieuwe plan van Zwijndrecht.",
    ])  # fmt: skip
    upload_in_browser(page, hostile)
    # titled by its file name (a PDF without a title of its own), which the upload already
    # stages under a name without markup characters
    page.locator("#documents").get_by_text("vet", exact=False).filter(
        visible=True).first.wait_for(timeout=30_000)  # fmt: skip
    page.wait_for_timeout(1000)
    page.screenshot(path=str(tmp_path / "xss-documents.png"), full_page=True)
    assert page.evaluate(INERT_JS) == INERT
    docs = page.locator("#documents").inner_text()
    # the fixture's PDF is titled "Quokka" (its largest first-page line); its markup is in
    # the passages, checked in the answer and the sources above
    assert "Quokka" in docs
    assert "vet" in docs and "plan" in docs and page.locator("#documents b").count() == 0
    assert page.locator("svg[onload]").count() == 0

    open_tab(page, "map")
    page.locator("#project-map").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.evaluate(INERT_JS) == INERT

    open_tab(page, "check")
    # a PDF without a title of its own is titled by its file name: markup in the name
    draft = make_pdf(tmp_path / f"concept {IMG}.pdf", [
        f"{SCRIPT}\nConcept strategie: Zwijndrecht deelt data over de polder.\n{IMG}\n{LINK}",
    ], footer=False)  # fmt: skip
    page.locator("#check-upload input[type=file]").set_input_files(str(draft))
    page.wait_for_timeout(1500)
    page.locator("#check-run").click()
    page.locator("#check-summary").get_by_text("bouwstenen", exact=False).wait_for(
        timeout=120_000)  # fmt: skip
    page.wait_for_timeout(1000)
    page.screenshot(path=str(tmp_path / "xss-check.png"), full_page=True)
    assert page.evaluate(INERT_JS) == INERT
    summary = page.locator("#check-summary")
    # the draft's title, as text (Gradio's upload already drops the name's angle brackets)
    assert "Concept" in summary.inner_text() and "onerror=" in summary.inner_text()
    assert summary.locator("img").count() == 0
    assert page.outside == [], page.outside


def test_document_text_cannot_form_links_in_the_answer():
    from ui.render import answer_markdown

    answer = {
        "answer": f"Zie {LINK} [1]\n[2]: javascript:window.__xss=5 [2]", "answered": True,
        "sources": [], "building_blocks": [], "projects": [],
    }  # fmt: skip
    md = answer_markdown(answer)
    assert "[1]" in md and md.count("[2]") == 1  # the citation marker, not the definition
    assert "\\[click\\]\\(javascript:window.\\_\\_xss=3\\)" in md
    assert "\\[2\\]: javascript" in md


def test_sources_and_cards_keep_document_text_inert():
    from ui.render import cards_html, sources_markdown

    answer = {"sources": [{"n": 1, "title": SCRIPT, "source": "x.pdf", "page": 2,
                           "snippet": f"{LINK} {IMG}"}],
              "building_blocks": [{"name": IMG, "stage": "foundations"}],
              "projects": [{"id": "a\"b", "title": SCRIPT, "municipality": "x", "summary": IMG}]}
    md = sources_markdown(answer, QUESTION)
    assert "<script>" not in md and "<img" not in md and "](javascript" not in md
    cards = cards_html(answer, QUESTION)
    assert "<script>" not in cards and "<img" not in cards and 'href="?project=a%22b"' in cards
