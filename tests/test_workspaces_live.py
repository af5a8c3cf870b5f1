"""Workspaces (#17) on a live `kb serve` (fake hash embedder, so it starts fast): the leak
matrix over gradio_client, logged in as each user, for every API endpoint, and the stored
files over HTTP; the wrong password, the slow-down and a forged proxy header."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from bench.load import running_server
from kb.settings import Settings
from tests.conftest import CORPUS, make_pdf
from tests.test_workspaces import (
    PASSWORD,
    SECRETS,
    USERS,
    _project_yaml,
    assert_sees,
    foreign,
    text_of,
)  # fmt: skip

pytestmark = pytest.mark.integration
FORGED_FROM_PROXY = "10.9.9.9"  # the configured proxy; the tests' requests come from 127.0.0.1


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from kb.core import KnowledgeBase

    home = tmp_path_factory.mktemp("live-home")
    src = tmp_path_factory.mktemp("live-src")
    kb = KnowledgeBase(home, settings=Settings(home=home, embed_model="hash"))
    kb.catalogue.register_municipalities(CORPUS / "municipalities.yaml")
    kb.ingest([CORPUS / "guide"], kind="guide")
    ids: dict[str, dict] = {}
    for muni, secret in SECRETS.items():
        word, pword = secret["words"]
        # named for its title: a PDF without a title of its own is titled by its file name
        doc = make_pdf(src / f"Interne notitie {word}.pdf", [
            f"Interne notitie {word}: de gemeente werkt vertrouwelijk aan het {word} plan "
            "met parkeersensoren en data."])  # fmt: skip
        folder = src / f"{muni}-projects"
        folder.mkdir()
        _project_yaml(folder, secret["project"], muni, f"Geheim {pword}",
                      f"Het {pword} meet parkeerdruk met sensoren en deelt data.")
        res = kb.ingest([doc], municipality=muni, visibility="municipality")
        res += kb.ingest([folder], kind="project", visibility="municipality")
        ids[muni] = {"doc": res[0].document_id, "project_doc": res[1].document_id}
    for name, (muni, role) in USERS.items():
        kb.accounts.add(name, muni, role, PASSWORD)
    total = kb.stats()
    kb.close()
    env = {**os.environ, "KB_HOME": str(home), "KB_EMBED_MODEL": "hash",
           "KB_TRUSTED_PROXY": FORGED_FROM_PROXY, "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip
    env.pop("KB_AUTH", None)
    with running_server(env) as url:
        yield url, ids, src, total


@pytest.mark.parametrize("name", sorted(USERS))
def test_leak_matrix_over_the_api(live, name):
    from gradio_client import Client, handle_file

    url, ids, src, total = live
    c = Client(url, auth=(name, PASSWORD), verbose=False)
    draft = make_pdf(src / f"draft-{name}.pdf", ["Onze strategie: parkeersensoren en data."])
    stats = c.predict(api_name="/stats")
    seen = []
    for m, secret in SECRETS.items():
        word, pword = secret["words"]
        seen += [
            c.predict(f"Wat is het {word} plan?", "", "", 8, api_name="/ask"),
            c.predict(f"{pword} parkeerdruk", "", "project", 8, api_name="/ask"),
            c.predict(f"{pword} meet parkeerdruk met sensoren", "", "", 10, api_name="/similar"),
            c.predict("", secret["project"], "", 10, api_name="/similar")
            if m not in foreign(name) else {},
        ]
    seen.append(c.predict(handle_file(str(draft)), "", False, api_name="/check"))
    seen.append(stats)
    assert_sees(name, [text_of(o) for o in seen], ids, expect_own=True)
    # counts: the other municipality's document and project are not even counted
    assert stats["documents"] == total["documents"] - 2 * len(foreign(name))
    assert stats["projects"] == total["projects"] - len(foreign(name)) == 2 - len(foreign(name))
    assert stats["chunks"] < total["chunks"] or not foreign(name)
    assert "generation" not in stats or USERS[name][1] == "admin"
    # a hidden project cannot be the base of a search either
    for m in foreign(name):
        with pytest.raises(Exception) as e:  # noqa: B017 - gradio_client's AppError
            c.predict("", SECRETS[m]["project"], "", 5, api_name="/similar")
        assert SECRETS[m]["words"][1] not in str(e.value)


@pytest.mark.parametrize("name", sorted(USERS))
def test_stored_files_over_http(live, name):
    url, ids, _, _ = live
    with httpx.Client(base_url=url, timeout=30) as s:
        assert s.post("login", data={"username": name, "password": PASSWORD}).status_code == 200
        for m in SECRETS:
            r = s.get(f"kb/file/{ids[m]['doc']}")
            assert r.status_code == (404 if m in foreign(name) else 200), (name, m)
            assert r.headers["content-type"].startswith(
                "application/pdf" if r.status_code == 200 else "application/json")


def test_readers_cannot_upload(live, tmp_path):
    from gradio_client import Client, handle_file

    url, _, _, _ = live
    doc = tmp_path / "nota.md"
    doc.write_text("# Nota\n\nEen nota van een lezer.\n")
    out = Client(url, auth=("dirk", PASSWORD), verbose=False).predict(
        [handle_file(str(doc))], "", "strategy", "municipality", api_name="/ingest")
    assert out["counts"] == {"failed": 1} and "reader" in out["results"][0]["reason"]


def test_a_forged_proxy_header_is_ignored(live):
    url, ids, _, _ = live
    with httpx.Client(base_url=url, timeout=30) as s:
        forged = {"X-Forwarded-User": "ria"}
        assert s.get("config", headers=forged).status_code == 401
        r = s.post("gradio_api/call/stats", json={"data": []}, headers=forged)
        assert r.status_code == 401
        assert s.get(f"kb/file/{ids['delft']['doc']}", headers=forged).status_code == 401


def test_wrong_password_and_the_slow_down(live):
    from gradio_client import Client

    url, _, _, _ = live
    with httpx.Client(base_url=url, timeout=30) as s:
        r = s.post("login", data={"username": "sem", "password": "wrong password"})
        assert r.status_code == 401 and "kb-session" not in r.cookies
        r = s.post("login", data={"username": "sem", "password": PASSWORD})
        assert r.status_code == 429 and "Retry-After" in r.headers
        with pytest.raises(Exception):  # noqa: B017 - gradio_client refuses too, meanwhile
            Client(url, auth=("sem", PASSWORD), verbose=False)
        time.sleep(float(r.headers["Retry-After"]) + 0.2)
        r = s.post("login", data={"username": "sem", "password": PASSWORD})
        assert r.status_code == 200 and "kb-session" in r.cookies
        assert s.get("config").status_code == 200


# ---- the real browser: the login form, then each tab as that user sees it -----------------
@pytest.mark.browser
@pytest.mark.parametrize("name", ["sem", "anna", "ria"])
def test_leak_matrix_in_the_browser(live, name, tmp_path):
    import shutil

    from tests.test_browser import ARGS, CHROMIUM

    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("no chromium on this machine (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    url, ids, _, _ = live
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url, wait_until="load")
        assert "/login" in page.url  # no session: the login form, nothing of the app
        page.fill("#u", name)
        page.fill("#p", PASSWORD)
        page.click("button[type=submit]")
        page.get_by_role("tab", name="Documents").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Documents").click()
        documents = page.locator("#documents")
        documents.get_by_text("Interne notitie", exact=False).first.wait_for(
            state="attached", timeout=60_000)  # fmt: skip
        seen = documents.text_content() or ""
        for tab in ("Projects", "Map", "Collaborations", "Check", "Ask"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(1500)
            seen += page.locator("body").text_content() or ""
        page.get_by_role("tab", name="Projects").click()
        page.locator("input[aria-label='…or pick a project']").click()
        page.wait_for_timeout(1000)
        picks = page.locator("ul[role=listbox]").text_content() or ""
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        browser.close()
    for m, secret in SECRETS.items():
        hidden = m in foreign(name)
        assert (f"Interne notitie {secret['words'][0]}" in seen) != hidden, (name, m)
        assert (secret["project"] in picks) != hidden, (name, m, picks)
        if hidden:
            assert not any(w in seen + picks for w in secret["words"]), (name, m)
