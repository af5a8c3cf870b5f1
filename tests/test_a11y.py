"""Accessibility and timing in the real browser: axe-core on every tab, in Dutch and English,
at 1400 px and 390 px wide, with content on the page (an answer with its sources open and a
PDF page in the viewer, a project list, a cell of the region matrix); the ask flow with the
keyboard alone; the time to a usable page and from asking to the answer shown.

Screenshots go to tests/out/<test name>/ (or $KB_SCREENSHOTS/<test name>/); the axe results
and the timings to the same folder as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser_tools import (
    CHROMIUM,
    QUESTION,
    TABS,
    WIDTHS,
    ask,
    axe,
    browser,
    fill,
    new_page,
    open_tab,
    serious,
    wait_ready,
)
from tests.test_app import live_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]
OUT = Path(os.environ.get("KB_SCREENSHOTS", Path(__file__).parent / "out"))
@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("no chromium on this machine (apt-get install chromium); CI installs it")
    with browser() as b:
        yield b


def folder(request) -> Path:
    path = OUT / request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_tab_passes_axe(chromium, live_server, request, lang, width):  # noqa: F811
    out = folder(request)
    page = new_page(chromium, WIDTHS[width], "en-GB" if lang == "en" else "nl-NL")
    page.goto(live_server, wait_until="load")  # the language from the browser's locale
    wait_ready(page)
    assert page.evaluate("document.documentElement.lang") == lang
    found = {}
    for tab in TABS:
        open_tab(page, tab)
        fill(page, tab, lang)
        page.wait_for_timeout(800)
        found[tab] = axe(page)
        page.screenshot(path=str(out / f"{tab}.png"), full_page=True)
    (out / "axe.json").write_text(json.dumps(found, indent=1))
    bad = {tab: serious(v) for tab, v in found.items() if serious(v)}
    assert bad == {}, json.dumps(bad, indent=1)
    labels = page.locator("[role=tablist] button[role=tab]").all_inner_texts()
    assert ("Vragen" if lang == "nl" else "Ask") in labels
    assert page.outside == [], page.outside
    page.context.close()


def test_the_ask_flow_with_the_keyboard_alone(chromium, live_server, request):  # noqa: F811
    out = folder(request)
    page = new_page(chromium, 1400)
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    steps = 0
    while not page.evaluate("!!document.activeElement.closest('#question')"):
        page.keyboard.press("Tab")
        steps += 1
        assert steps < 25, "the question box is not reachable with Tab"
    page.keyboard.type("Hoe kunnen we ouderen digitaal vaardiger maken?")
    page.keyboard.press("Enter")
    status = page.locator("#kb-status")
    assert status.get_attribute("aria-live") == "polite"
    assert status.get_attribute("role") == "status"
    page.wait_for_function("document.getElementById('kb-status').dataset.state === 'ready'",
                           timeout=120_000)  # fmt: skip
    assert status.inner_text() == "Antwoord gereed."
    # The new answer has the focus, and its start is in view (not the tail of a list).
    focused = page.evaluate("document.activeElement.className")
    assert "bot-row" in focused, focused
    top, bottom = page.evaluate("(r => [r.top, r.bottom])"
                                "(document.activeElement.getBoundingClientRect())")
    height = page.viewport_size["height"]
    assert 0 <= top and (top < height / 2 or bottom <= height), (top, bottom)
    # On with the keyboard: the sources panel opens with Enter and a source with the arrows.
    page.locator("#sources-panel > button, #sources-panel .label-wrap").first.focus()
    page.keyboard.press("Enter")
    page.locator("#source-pick input").first.focus()
    page.keyboard.press("Space")
    page.locator("#viewer img, #viewer-text h2").first.wait_for(timeout=60_000)
    page.screenshot(path=str(out / "keyboard.png"), full_page=False)
    assert steps <= 12, f"{steps} Tab presses to reach the question"
    (out / "steps.json").write_text(json.dumps({"tabs_to_question": steps}))


def test_shared_links_open_the_answer_and_the_project(chromium, live_server, request):  # noqa: F811
    out = folder(request)
    page = new_page(chromium, 1400, "en-GB")
    page.goto(live_server + "?q=Welke%20gemeenten%20werken%20met%20parkeersensoren%3F",
              wait_until="load")  # fmt: skip
    wait_ready(page)
    chat = page.locator("#chat").inner_text()
    assert "Welke gemeenten werken met parkeersensoren?" in chat and "[1]" in chat
    assert page.evaluate("document.documentElement.lang") == "en"
    page.screenshot(path=str(out / "question-link.png"))
    page.goto(live_server + "?project=delft-smart-parking&lang=nl", wait_until="load")
    wait_ready(page)
    assert page.locator("#tab-projects-button").get_attribute("aria-selected") == "true"
    detail = page.locator("#project-detail")
    assert "Link naar dit project" in detail.inner_text()
    assert detail.locator("a[href='?project=delft-smart-parking']").count() == 1
    page.screenshot(path=str(out / "project-link.png"))


def test_the_language_switch_relabels_everything(chromium, live_server):  # noqa: F811
    page = new_page(chromium, 1400, "nl-NL")
    page.goto(live_server, wait_until="load")
    wait_ready(page)
    names = page.locator("[role=tablist] button[role=tab]").all_inner_texts()
    assert names[:3] == ["Vragen", "Projecten", "Regio in één oogopslag"]
    page.locator("#lang label", has_text="English").click()
    page.locator("#tab-overview-button", has_text="The region at a glance").wait_for()
    names = page.locator("[role=tablist] button[role=tab]").all_inner_texts()
    assert names == ["Ask", "Projects", "The region at a glance", "Map", "Collaborations",
                     "Check", "Documents"]  # fmt: skip
    assert page.locator("#ask").inner_text() == "Ask"
    assert "Your question" in page.locator("#question").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_timings_in_the_browser(chromium, live_server, request):  # noqa: F811
    """Open to usable, and ask to answer shown, measured with performance.now() in the page
    (a loaded 2-core machine: compare runs on the same machine only)."""
    out = folder(request)
    rows = []
    for i in range(3):
        page = new_page(chromium, 1400)
        page.goto(live_server, wait_until="load")
        wait_ready(page)
        ready = float(page.evaluate("document.body.dataset.kbReadyAt"))
        answer = ask(page, QUESTION["nl"] if i % 2 == 0 else "Welke gemeenten werken met "
                     "parkeersensoren?")  # fmt: skip
        rows.append({"usable_ms": round(ready), "answer_ms": round(answer)})
        page.context.close()
    (out / "timings.json").write_text(json.dumps(rows, indent=1))
    assert all(r["usable_ms"] < 30_000 and 0 < r["answer_ms"] < 60_000 for r in rows), rows
