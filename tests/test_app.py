"""The app object with a fake-embedder knowledge base, then a live server with the real model."""

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import copy_corpus_home, make_pdf
from tests.test_kb import corpus  # noqa: F401  (fixture)


@pytest.fixture
def handlers(fake_kb, corpus):  # noqa: F811
    from ui.app import Handlers

    fake_kb.ingest([corpus])
    return Handlers(fake_kb)


def test_create_app_builds_the_api(fake_kb):
    from ui.app import create_app

    app = create_app(fake_kb)
    names = {d.api_name for d in app.fns.values() if d.api_name}
    assert {"ask", "similar", "ingest", "stats"} <= names


def test_chat_reply_cites_and_escapes(handlers):
    history, cleared, _ = handlers.chat("parking sensors <script>", [], "", "")
    assert cleared == ""
    assert history[0]["content"] == "parking sensors &lt;script&gt;"
    reply = history[1]["content"]
    assert "[1]" in reply and "**Sources**" in reply
    assert "<script>" not in reply


def test_project_table_and_csv_export(handlers):
    rows, detail, path = handlers.project_table("", "delft-parking", "")
    assert {r[-1] for r in rows} == {"rotterdam-parking", "schiedam-parking"}
    assert detail.startswith(f"### {rows[0][0]}") and "Why it matches:" in detail
    with open(path, encoding="utf-8") as f:
        assert f.readline().strip() == "title,municipality,stage,status,score,why,id"
        assert len(f.readlines()) == len(rows)
    assert handlers.project_table("", "delft-parking", "", [], "", "idea")[0] == []


def test_selecting_a_row_shows_that_project(handlers):
    import gradio as gr

    rows, _, _ = handlers.project_table("parking sensors", "", "")
    evt = gr.SelectData(None, {"index": [1, 0], "value": rows[1][0]})
    detail = handlers.select_project(rows, evt)
    assert detail.startswith(f"### {rows[1][0]}") and "Sensors and IoT" in detail


def test_chat_shows_blocks_and_projects_as_escaped_cards(handlers):
    _, _, cards = handlers.chat("parking sensors", [], "", "")
    assert cards.count('class="kb-card"') >= 2
    assert "Comparable projects" in cards and "Parking sensor pilot" in cards


def test_upload_lists_the_document_and_reports_each_file(handlers, tmp_path):
    good = make_pdf(
        tmp_path / "nieuw.pdf", ["Vlaardingen kiest voor een digitale dienstverlening."]
    )
    bad = tmp_path / "kapot.pdf"
    bad.write_text("geen pdf")
    out, rows = handlers.upload(
        [str(good), str(bad)], "Vlaardingen", "strategy", progress=lambda *a, **k: None
    )
    assert "added: nieuw.pdf" in out and "failed: kapot.pdf: not a PDF" in out
    assert any(r[2] == "Vlaardingen" and r[1] == "strategy" for r in rows)
    doc_id = next(r[7] for r in rows if r[2] == "Vlaardingen")
    msg, rows = handlers.remove(doc_id)
    assert msg.startswith("Removed") and all(r[7] != doc_id for r in rows)


def test_api_shapes_match_the_cli(handlers):
    a = handlers.ask("parking sensors")
    assert set(a) >= {"answer", "sources", "building_blocks", "projects", "answered"}
    s = handlers.similar(project_id="delft-parking")
    assert {r["id"] for r in s["results"]} == {"rotterdam-parking", "schiedam-parking"}
    assert {"documents", "chunks", "projects", "model", "index"} <= set(handlers.stats())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, corpus_home):
    """`kb serve` in its own process on a free port, on the shipped corpus, real model."""
    home = copy_corpus_home(corpus_home, tmp_path_factory.mktemp("serve"))
    env = {**__import__("os").environ, "KB_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("KB_EMBED_MODEL", None)
    kb_bin = [sys.executable, "-c", "from ui.cli import main; main()"]
    port = _free_port()
    proc = subprocess.Popen(kb_bin + ["serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start: " + proc.stdout.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.integration
def test_live_server_endpoints(live_server, tmp_path):
    from gradio_client import Client, handle_file

    c = Client(live_server, verbose=False)
    stats = c.predict(api_name="/stats")
    assert stats["projects"] >= 100 and stats["model"] == "multilingual-e5-small"
    a = c.predict("Which municipalities use smart parking sensors?", "", "", 5, api_name="/ask")
    assert a["answered"] and "[1]" in a["answer"]
    assert any(s.get("project_id", "") and "parking" in s["project_id"] for s in a["sources"])
    s = c.predict("", "delft-smart-parking", "", 5, api_name="/similar")
    assert s["results"] and all(r["municipality"] != "delft" for r in s["results"])
    pdf = make_pdf(tmp_path / "maassluis-loket.pdf", [
        "Maassluis opent het Klantcontactcentrum Zeemanskwartier voor vragen over vergunningen.",
    ])  # fmt: skip
    out = c.predict([handle_file(str(pdf))], "Maassluis", "strategy", api_name="/ingest")
    assert out["counts"] == {"added": 1}, json.dumps(out)
    a2 = c.predict("Wat is het Klantcontactcentrum Zeemanskwartier?", "", "", 5, api_name="/ask")
    assert a2["sources"][0]["source"].endswith("maassluis-loket.pdf")
