"""A real browser: Debian's headless Chromium driven by Playwright, against a live server."""

import shutil

import pytest

from tests.browser_tools import open_tab, wait_ready
from tests.conftest import make_pdf
from tests.test_app import live_server  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def page():
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.skip("no chromium on this machine (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="nl-NL")
        outside: list[str] = []
        pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            ("http://127.0.0.1", "data:", "blob:")) else None)  # fmt: skip
        pg.outside = outside
        yield pg
        browser.close()


def upload_in_browser(page, pdf) -> None:
    """Add a file on the Documents tab (already open) and wait for its 'added' line."""
    page.locator("#upload input[type=file]").set_input_files(str(pdf))
    page.wait_for_timeout(1500)  # the file reaches the server before the button counts
    page.locator("#add").click()
    page.locator("#upload-result").get_by_text("toegevoegd:").wait_for(timeout=120_000)


def test_ask_projects_and_upload_in_the_browser(page, live_server, tmp_path):  # noqa: F811
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    page.locator("#question textarea").fill(
        "Which action perspectives does the guide give for data management?"
    )
    page.locator("#ask").click()
    page.get_by_text("Antwoord gereed.").wait_for(timeout=60_000)
    assert "[1]" in page.locator("#chat").inner_text()
    assert page.get_by_text("Bronnen (5)").count() == 1
    page.locator("#cards .kb-card").first.wait_for(timeout=30_000)
    assert "Bouwstenen" in page.locator("#cards").inner_text()
    assert "Bouwstenen" not in page.locator("#chat").inner_text()  # shown once, in the cards
    page.screenshot(path=str(tmp_path / "ask.png"), full_page=True)

    open_tab(page, "projects")
    page.locator("#project-text textarea").fill("sensoren die vrije parkeerplaatsen tonen")
    page.locator("#find").click()
    table = page.locator("#projects-table")
    table.get_by_text("parking", exact=False).first.wait_for(timeout=60_000)
    detail = page.locator("#project-detail")
    detail.get_by_text("Waarom het past", exact=False).wait_for(timeout=30_000)
    second = page.locator("#projects-table [data-row='1'][data-col='0']")  # 2nd row's title
    title = second.inner_text().strip()
    second.click()
    page.locator("#project-detail h2", has_text=title).wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "projects.png"), full_page=True)

    open_tab(page, "documents")
    pdf = make_pdf(tmp_path / "ridderkerk-visie.pdf", [
        "Ridderkerk zet in op een digitale wijkapp voor buurtpreventie en meldingen.",
    ])  # fmt: skip
    upload_in_browser(page, pdf)
    documents = page.locator("#documents")
    # the title from the file name (the PDF has no title of its own)
    documents.get_by_text("ridderkerk visie", exact=False).first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "documents.png"), full_page=True)
    assert page.outside == [], page.outside


def test_map_and_collaboration_tabs_render_offline(page, live_server, tmp_path):  # noqa: F811
    before = len(page.outside)
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    open_tab(page, "map")
    plot = page.locator("#project-map .js-plotly-plot .main-svg").first
    plot.wait_for(timeout=60_000)
    svg = page.locator("#project-map").inner_text()
    assert "Rotterdam" in svg and "107 projecten" in svg
    assert page.locator("#project-map .scatterlayer .point").count() >= 21
    # Plotly's drag layer lies over the points: move the mouse onto one, as a user would.
    box = page.locator("#project-map .scatterlayer .point").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#project-map .hoverlayer").get_by_text("project", exact=False).first.wait_for(
        timeout=10_000)  # fmt: skip
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)

    open_tab(page, "collaborations")
    page.locator("#collab-map .js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    ranked = page.locator("#collab-list")
    ranked.get_by_text("kansen", exact=False).first.wait_for(timeout=60_000)
    assert "both work on" in ranked.inner_text()
    assert page.locator("#collab-map .scatterlayer path.js-line").count() > 0  # the edges
    number = page.locator("#collab-threshold input[type=number]")
    number.fill("0.7")
    number.press("Enter")
    page.locator("#collab-map").get_by_text("gelijkenis ≥ 0,70", exact=False).wait_for(
        timeout=60_000)  # fmt: skip
    ranked.get_by_text("gelijkenis ≥ 0,70", exact=False).first.wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "collaborations.png"), full_page=True)
    assert page.outside[before:] == [], page.outside[before:]


def test_check_tab_shows_coverage_gaps_and_chart(page, live_server, tmp_path):  # noqa: F811
    from tests.conftest import CORPUS

    before = len(page.outside)
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    open_tab(page, "check")
    pdf = CORPUS / "strategies" / "zoetermeer-digitale-agenda.pdf"
    page.locator("#check-upload input[type=file]").set_input_files(str(pdf))
    page.wait_for_timeout(1500)
    page.locator("#check-run").click()
    summary = page.locator("#check-summary")
    summary.get_by_text("bouwstenen", exact=False).wait_for(timeout=180_000)
    assert "Digitale Agenda Zoetermeer" in summary.inner_text()
    table = page.locator("#check-table").inner_text()
    assert "Data management" in table and "ontbreekt" in table
    page.locator("#check-chart .js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    assert page.locator("#check-chart .barlayer .point").count() >= 5
    gaps = page.locator("#check-gaps").inner_text()
    assert "Handelingsperspectieven" in gaps and "Projecten in de regio" in gaps
    page.screenshot(path=str(tmp_path / "check.png"), full_page=True)
    assert page.outside[before:] == [], page.outside[before:]

    # The /check endpoint gives the same counts as the tab, and stores nothing.
    from gradio_client import Client, handle_file

    client = Client(live_server, verbose=False)
    docs = client.predict(api_name="/stats")["documents"]
    out = client.predict(handle_file(str(pdf)), "", False, api_name="/check")
    shown = summary.inner_text()
    for status, word in (("covered", "gedekt"), ("weak", "zwak"), ("missing", "ontbreekt")):
        n = sum(b["status"] == status for b in out["blocks"])
        assert f"{n} {word}" in shown, (status, n, shown)
    assert out["title"].startswith("Digitale Agenda Zoetermeer") and out["added"] is None
    assert client.predict(api_name="/stats")["documents"] == docs


def test_region_overview_evidence_exports_and_updates(page, live_server, tmp_path):  # noqa: F811
    before = len(page.outside)
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    open_tab(page, "overview")
    summary = page.locator("#ov-summary")
    summary.get_by_text("8 van de 21 gemeenten", exact=False).wait_for(timeout=60_000)
    text = summary.inner_text()
    assert "Gemeenten het verst van de handreiking" in text and "Ridderkerk" in text
    matrix = page.locator("#ov-matrix")
    assert matrix.get_by_text("Data management").count() >= 1
    # Column 5 is Delft (stage, block, Albrandswaard, Barendrecht, Capelle a/d IJssel, Delft).
    page.locator("#ov-matrix [data-row='0'][data-col='5']").click()
    evidence = page.locator("#ov-evidence")
    evidence.locator("h2", has_text="Delft").wait_for(timeout=30_000)
    assert "Passages uit de strategie" in evidence.inner_text()
    page.locator("#ov-export").click()
    page.locator("#ov-csv", has_text="region-overview").wait_for(timeout=60_000)
    page.locator("#ov-png", has_text=".png").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    # A strategy added on the Documents tab shows in the matrix when the tab opens again.
    open_tab(page, "documents")
    pdf = make_pdf(tmp_path / "ridderkerk-digitale-agenda.pdf", [
        "Ridderkerk legt een datacatalogus aan en benoemt data-eigenaren voor elke dataset. "
        "Datamanagement, datakwaliteit en metadata krijgen een vaste plek in de organisatie.",
    ])  # fmt: skip
    chooser = page.locator("#upload-municipality input")
    chooser.click()
    chooser.fill("Ridderkerk")
    page.get_by_role("option", name="Ridderkerk").first.click()
    upload_in_browser(page, pdf)
    open_tab(page, "overview")
    summary.get_by_text("9 van de 21 gemeenten", exact=False).wait_for(timeout=60_000)
    assert "Ridderkerk" not in summary.inner_text().split("Zonder strategie")[-1]
    assert page.outside[before:] == [], page.outside[before:]


def test_a_follow_up_question_in_the_browser(page, live_server, tmp_path):  # noqa: F811
    """'En in Delft?' after a question: understood from the earlier turn, the searched
    question shown above the answer, a Delft source found; the answer downloads as Markdown."""
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    box = page.locator("#question textarea")
    box.fill("Welke gemeenten hebben plekken waar je een deelauto of bakfiets kunt pakken?")
    page.locator("#ask").click()
    page.locator("#chat .bot-row").first.wait_for(timeout=60_000)
    page.get_by_text("Antwoord gereed.").wait_for(timeout=60_000)
    assert "Ik zocht naar" not in page.locator("#chat").inner_text()
    box.fill("En in Delft?")
    box.press("Enter")
    searched = page.locator("#chat").get_by_text("Ik zocht naar:", exact=False)
    searched.wait_for(timeout=60_000)
    assert "Delft" in searched.inner_text()
    page.locator("#sources-panel").get_by_text("Bronnen (", exact=False).first.click()
    sources = page.locator("#sources")
    sources.get_by_text("delft", exact=False).first.wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as dl:
        page.locator("#answer-download").click()
    text = open(dl.value.path(), encoding="utf-8").read()
    assert text.startswith("## En in Delft?") and "Ik zocht naar" in text
    assert "/kb/file/" in text or "delft" in text.lower()
    page.screenshot(path=str(tmp_path / "follow-up.png"), full_page=True)


def test_a_language_model_answer_streams_into_the_chat(page, corpus_home, tmp_path):
    """With KB_LLM_URL set (a real chat-completions server on 127.0.0.1 that writes slowly),
    the sources come first, the answer grows a checked sentence at a time, and the model's
    unsupported sentence is never on screen, not even for a moment."""
    from tests.browser_tools import served
    from tests.conftest import copy_corpus_home
    from tests.fake_openai import FakeOpenAI, quoting

    home = copy_corpus_home(corpus_home, tmp_path / "home")
    with FakeOpenAI({"quote": quoting}, pace=0.15) as fake, served(home, settings={
            "KB_LLM_URL": fake.url, "KB_LLM_MODEL": "quote"}) as url:  # fmt: skip
        page.goto(url, wait_until="load")
        wait_ready(page)
        # Every 30 ms, the newest answer's text as it is on screen.
        page.evaluate("""() => { window.kbSeen = []; setInterval(() => {
            const rows = document.querySelectorAll('#chat .bot-row');
            const text = rows.length ? rows[rows.length - 1].innerText.trim() : '';
            if (text && text !== window.kbSeen[window.kbSeen.length - 1]) window.kbSeen.push(text);
        }, 30); }""")
        page.locator("#question textarea").fill(
            "Welke gemeenten gebruiken sensoren om vrije parkeerplekken te tonen?")
        page.locator("#ask").click()
        page.get_by_text("Antwoord gereed.").wait_for(timeout=120_000)
        page.wait_for_timeout(200)
        seen = page.evaluate("window.kbSeen")
        page.screenshot(path=str(tmp_path / "streamed.png"), full_page=True)
    assert fake.requests and fake.requests[-1]["stream"] is True
    final = seen[-1]
    assert "[1]" in final and "[2]" in final and "weggelaten" in final
    assert seen[0].startswith("Het taalmodel schrijft het antwoord")
    # In between, at least one state with the first sentence only.
    middle = [s for s in seen[1:-1] if "[1]" in s and "[2]" not in s]
    assert middle, seen
    assert not any("Quantum" in s for s in seen), seen
    assert page.outside == [], page.outside
