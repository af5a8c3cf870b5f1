"""Browser helpers shared by the browser tests, the accessibility audit and `make screenshots`.

Debian's Chromium driven by Playwright; axe-core from the PyPI package axe-playwright-python
(injected into the page, nothing fetched). Run as a script it serves a knowledge base and
writes a screenshot of every tab, the axe counts and the timings:

    python -m tests.browser_tools --home KB_HOME --out docs/screenshots [--audit FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic"]  # fmt: skip
WIDTHS = {"wide": 1400, "phone": 390}
# Tab ids (gr.Tab(id=...)) in the order of the tab bar.
TABS = ["ask", "projects", "overview", "map", "collaborations", "check", "documents"]
SERIOUS = ("serious", "critical")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(home: Path, root: Path | None = None, settings: dict | None = None):
    """`kb serve` on `home` in its own process (the code of `root`, with the extra
    `settings` in its environment); yields the URL."""
    env = {**os.environ, "KB_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False",
           **(settings or {})}  # fmt: skip
    env.pop("KB_EMBED_MODEL", None)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from ui.cli import main; main()", "serve",
                             "--port", str(port)], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.time() + 180
    try:
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            raise RuntimeError("server did not start")
        if proc.poll() is not None:
            raise RuntimeError("server stopped: " + proc.stdout.read().decode()[-2000:])
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_page(b, width: int = 1400, locale: str = "nl-NL"):
    """A page of `width` CSS pixels that records every request leaving this machine."""
    height = 1000 if width > 600 else 844
    ctx = b.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = ctx.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "data:", "blob:")) else None)  # fmt: skip
    page.outside = outside
    return page


def wait_ready(page, timeout: float = 60_000) -> None:
    """The app is usable: the question box is there and the language is applied."""
    page.locator("#question textarea").wait_for(timeout=timeout)
    page.wait_for_function("document.body.dataset.kbReady === '1'", timeout=timeout)


def open_tab(page, tab: str) -> None:
    """Click a tab by its id; on a narrow screen Gradio moves the tabs that do not fit into
    a "more tabs" menu, where they are found by their text."""
    button = page.locator(f"button[role=tab][id$='{tab}-button']")
    if button.count() and button.first.is_visible():
        button.first.click(timeout=5000)
        return
    if page.locator("#tab-ask-button").count():
        hidden = page.locator(".tab-container.visually-hidden button")
        label = hidden.nth(TABS.index(tab)).inner_text().strip()
    else:  # the app before #16: English tab names, no ids
        label = tab.capitalize()
    visible = page.get_by_role("tab", name=label, exact=True)
    if visible.count() and visible.first.is_visible():
        visible.first.click(timeout=5000)
        return
    page.locator(".overflow-menu > button").first.click(timeout=5000)
    page.locator(".overflow-dropdown button", has_text=label).first.click(timeout=5000)


def axe(page) -> list[dict]:
    """axe-core's violations on the page as it is: [{id, impact, nodes, help}]."""
    from axe_playwright_python.sync_playwright import Axe

    res = Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"],
             "targets": [n["target"] for n in v["nodes"][:3]]}
            for v in res.response["violations"]]  # fmt: skip


QUESTION = {"nl": "Welke handelingsperspectieven geeft de handreiking voor datamanagement?",
            "en": "Which action perspectives does the guide give for data management?"}


def ask(page, question: str) -> float:
    """Ask with the keyboard in the question box; the in-browser time to the answer (ms)."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("document.getElementById('kb-status').dataset.state === 'ready'",
                           timeout=120_000)  # fmt: skip
    return page.evaluate("window.kbAnswerAt - window.kbAskAt")


def fill(page, tab: str, lang: str) -> None:
    """Put content on a tab, as a user would: an answer with its sources open and a PDF page
    in the viewer, a list of comparable projects, a cell of the region matrix."""
    if tab == "ask":
        ask(page, QUESTION[lang])
        page.locator("#sources-panel > button, #sources-panel .label-wrap").first.click()
        pdf = page.locator("#source-pick label", has_text="p. ").first
        (pdf if pdf.count() else page.locator("#source-pick label").first).click()
        page.locator("#viewer img, #viewer-text h2").first.wait_for(timeout=60_000)
    elif tab == "projects":
        page.locator("#project-text textarea").fill("sensoren die vrije parkeerplaatsen tonen")
        page.locator("#find").click()
        page.locator("#project-detail h2").wait_for(timeout=60_000)
    elif tab == "overview":
        page.locator("#ov-matrix [data-row='11'][data-col='5']").click()
        page.locator("#ov-evidence h2").wait_for(timeout=60_000)


def shrink(png: Path) -> None:
    """A screenshot in 256 colours: a third of the size, and the interface still sharp."""
    from PIL import Image

    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(png, optimize=True)


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in SERIOUS]


def audit(url: str, out: Path | None = None, tabs=TABS, select=lambda page, tab, lang: None,
          langs=("nl", "en"), widths=tuple(WIDTHS)) -> dict:  # fmt: skip
    """axe on every tab at both widths (and languages); screenshots into `out` if given."""
    results: dict = {}
    with browser() as b:
        for lang in langs:
            for name in widths:
                width = WIDTHS[name]
                page = new_page(b, width, "en-GB" if lang == "en" else "nl-NL")
                page.goto(url + f"?lang={lang}", wait_until="load")
                try:
                    wait_ready(page)
                except Exception:  # the app before this change has no readiness mark
                    page.wait_for_timeout(4000)
                for tab in tabs:
                    try:
                        open_tab(page, tab)
                    except Exception:
                        continue
                    select(page, tab, lang)
                    page.wait_for_timeout(1500)
                    results[f"{lang}/{name}/{tab}"] = axe(page)
                    if out is not None:
                        out.mkdir(parents=True, exist_ok=True)
                        shot = out / f"{tab}-{lang}-{name}.png"
                        page.screenshot(path=str(shot), full_page=True)
                        shrink(shot)
                page.context.close()
    return results


def summary(results: dict) -> dict:
    """Counts of serious/critical violations (rule ids and nodes) per key, and in total."""
    rows = {}
    for key, vs in results.items():
        bad = serious(vs)
        rows[key] = {"serious_rules": sorted({v["id"] for v in bad}),
                     "serious_nodes": sum(v["nodes"] for v in bad),
                     "all_rules": len(vs)}  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--root", type=Path, default=None, help="the code to serve (a checkout)")
    ap.add_argument("--out", type=Path, default=None, help="folder for screenshots")
    ap.add_argument("--audit", type=Path, default=None, help="write axe results as JSON")
    ap.add_argument("--langs", default="nl,en")
    ap.add_argument("--widths", default="wide,phone")
    ap.add_argument("--fill", action="store_true", help="ask, search, pick a cell first")
    a = ap.parse_args()
    with served(a.home, a.root) as url:
        res = audit(url, a.out, langs=tuple(a.langs.split(",")),
                    widths=tuple(a.widths.split(",")), select=fill if a.fill else
                    (lambda page, tab, lang: None))  # fmt: skip
    s = summary(res)
    if a.audit:
        a.audit.write_text(json.dumps({"summary": s, "violations": res}, indent=1))
    for k, v in s.items():
        print(k, v["serious_nodes"], ",".join(v["serious_rules"]))


if __name__ == "__main__":
    main()
