"""The app object with a fake-embedder knowledge base, then a live server with the real model."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    history, cleared, sources, cards, pick, kept, panel, turns, download = handlers.chat(
        "parking sensors <script>", [], "", "")
    assert cleared == ""
    assert history[0]["content"] == "parking sensors &lt;script&gt;"
    reply = history[1]["content"]
    assert "<script>" not in reply
    # Answer first: the sources, blocks and projects are not repeated in the chat text.
    assert "Bronnen" not in reply and "Sources" not in reply and "Bouwstenen" not in reply
    assert sources.startswith("**[1] ") and "<script>" not in sources
    assert [c[1] for c in pick["choices"]] == [str(s["n"]) for s in kept]
    assert panel["label"] == f"Bronnen ({len(kept)}) — tonen of verbergen"


def test_chat_in_english_and_nothing_twice(handlers):
    history, _, sources, cards, _, kept, panel, *_ = handlers.chat(
        "parking sensors", [], "", "", "", lang="en")
    assert panel["label"].startswith(f"Sources ({len(kept)})")
    assert "Link to this question" in cards
    # The composed answer lists projects; a project is in the answer or in a card, not both.
    for title in ("Parking sensor pilot", "Parking sensors and guidance"):
        assert (title in cards) != (title in history[-1]["content"])


def test_empty_question_changes_nothing(handlers):
    out = handlers.chat("   ", [], "", "")
    assert len(out) == 9 and all(type(o).__name__ == "dict" or o is not None for o in out)


def test_open_source_shows_a_pdf_page_with_the_passage_marked(handlers, tmp_path):
    pdf = make_pdf(tmp_path / "delft-visie.pdf", [
        "Inleiding zonder bijzonderheden over het beleid van de gemeente.",
        "Delft plaatst waterstandsensoren in de grachten om overstromingen te voorspellen.",
    ])  # fmt: skip
    handlers.kb.ingest([pdf], municipality="delft", kind="strategy")
    _, _, _, _, _, kept, *_ = handlers.chat("waterstandsensoren in de grachten", [], "", "")
    src = next(s for s in kept if s["source"].endswith("delft-visie.pdf"))
    assert src["page"] == 2
    page, text = handlers.open_source(str(src["n"]), kept, "nl")
    assert 'src="data:image/png;base64,' in page and "Pagina 2 van 2" in page
    assert 'class="kb-anchor"' in page  # the passage was found on the page and marked
    assert "geel gemarkeerd" in page and text.startswith(f"## [{src['n']}]")


def test_open_source_shows_a_project_record_and_its_link(handlers):
    _, _, _, _, _, kept, *_ = handlers.chat("parking sensors", [], "", "")
    src = next(s for s in kept if s.get("project_id"))
    page, text = handlers.open_source(str(src["n"]), kept, "en")
    assert page == "" and f"(?project={src['project_id']})" in text and "Why it matches" not in text


def test_project_table_and_csv_export(handlers):
    rows, detail, path = handlers.project_table("", "delft-parking", "")
    assert list(rows.columns) == ["titel", "gemeente", "fase", "status", "score", "waarom", "id"]
    ids = rows.values.tolist()
    assert {r[-1] for r in ids} == {"rotterdam-parking", "schiedam-parking"}
    assert detail.startswith(f"## {ids[0][0]}") and "Waarom het past:" in detail
    assert "(?project=" in detail
    with open(path, encoding="utf-8") as f:
        assert f.readline().strip() == "title,municipality,stage,status,score,why,id"
        assert len(f.readlines()) == len(ids)
    assert handlers.project_table("", "delft-parking", "", [], "", "idea")[0].empty
    rows, detail, _ = handlers.project_table("", "delft-parking", "", lang="en")
    assert rows.columns[0] == "title" and "Why it matches:" in detail


def test_selecting_a_row_shows_that_project(handlers):
    import gradio as gr

    rows, _, _ = handlers.project_table("parking sensors", "", "")
    second = rows.values.tolist()[1]
    evt = gr.SelectData(None, {"index": [1, 0], "value": second[0]})
    detail = handlers.select_project(rows, evt, "en")
    assert detail.startswith(f"## {second[0]}") and "Sensors and IoT" in detail


def test_chat_shows_blocks_and_projects_as_escaped_cards(handlers):
    _, _, _, cards, *_ = handlers.chat("parking sensors", [], "", "")
    assert cards.count('class="kb-card"') >= 1 and "Bouwstenen" in cards
    assert 'href="?q=parking%20sensors"' in cards
    # a project the answer does not list gets a card with the link to its detail
    from ui.render import cards_html

    extra = {"building_blocks": [], "projects": [{"id": "x<y", "title": "A <b>project</b>",
                                                  "municipality": "Delft", "summary": ""}]}
    card = cards_html(extra, "q", "nl")
    assert 'href="?project=x%3Cy"' in card and "<b>" not in card


def test_a_shared_link_opens_the_project_or_the_question(handlers):
    from types import SimpleNamespace

    def req(**q):
        return SimpleNamespace(query_params=q)

    lang, question, tab, pick, detail, themes = handlers.start("nl", req(project="delft-parking"))
    assert tab["selected"] == "projects" and pick["value"] == "delft-parking"
    assert "delft-parking" in pick["choices"] and themes["choices"]
    assert detail.startswith("## ") and "Link naar dit project" in detail
    lang, question, *_ = handlers.start("nl", req(q="Wat doet Delft?", lang="en"))
    assert (lang, question) == ("en", "Wat doet Delft?")
    assert "Onbekend project" in handlers.start("nl", req(project="nope"))[4]


def test_upload_lists_the_document_and_reports_each_file(handlers, tmp_path):
    good = make_pdf(
        tmp_path / "nieuw.pdf", ["Vlaardingen kiest voor een digitale dienstverlening."]
    )
    bad = tmp_path / "kapot.pdf"
    bad.write_text("geen pdf")
    out, table = handlers.upload(
        [str(good), str(bad)], "Vlaardingen", "strategy", progress=lambda *a, **k: None
    )
    assert "toegevoegd: nieuw.pdf" in out and "mislukt: kapot.pdf: not a PDF" in out
    rows = table.values.tolist()
    assert list(table.columns)[:2] == ["titel", "soort"]
    assert any(r[2] == "Vlaardingen" and r[1] == "strategie" for r in rows)  # in Dutch
    doc_id = next(r[7] for r in rows if r[2] == "Vlaardingen")
    msg, table = handlers.set_title(doc_id, "  Digitale koers   Vlaardingen ")
    assert msg == "Nieuwe titel: Digitale koers Vlaardingen"
    assert [r[0] for r in table.values.tolist() if r[7] == doc_id] == ["Digitale koers Vlaardingen"]
    assert handlers.set_title("", "x", "en")[0] == "No document with that id."
    msg, table = handlers.remove(doc_id)
    assert msg.startswith("Verwijderd") and all(r[7] != doc_id for r in table.values.tolist())
    assert handlers.remove("", "en")[0] == "No document with that id."


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
    # a follow-up with the earlier turn as the optional last input (JSON)
    f = c.predict("En in Delft?", "", "", 5, "", json.dumps([a["turn"]]), api_name="/ask")
    assert f["resolved_question"] and "Delft" in f["resolved_question"]
    assert any(src.get("municipality") == "delft" for src in f["sources"])
    s = c.predict("", "delft-smart-parking", "", 5, api_name="/similar")
    assert s["results"] and all(r["municipality"] != "delft" for r in s["results"])
    pdf = make_pdf(tmp_path / "maassluis-loket.pdf", [
        "Maassluis opent het Klantcontactcentrum Zeemanskwartier voor vragen over vergunningen.",
    ])  # fmt: skip
    out = c.predict([handle_file(str(pdf))], "Maassluis", "strategy", api_name="/ingest")
    assert out["counts"] == {"added": 1}, json.dumps(out)
    a2 = c.predict("Wat is het Klantcontactcentrum Zeemanskwartier?", "", "", 5, api_name="/ask")
    assert a2["sources"][0]["source"].endswith("maassluis-loket.pdf")


def test_a_follow_up_in_the_chat_leans_on_the_kept_turns(handlers):
    history, _, _, _, _, _, _, turns, _ = handlers.chat(
        "Which projects use parking sensors?", [], "", "")
    assert len(turns) == 1 and turns[0]
    history, _, sources, _, _, kept, _, turns, download = handlers.chat(
        "En in Delft?", history, "", "", "", turns)
    reply = history[-1]["content"]
    first = reply.split("\n\n")[0]
    assert first.startswith("*Ik zocht naar: ") and "Delft" in first and "park" in first.lower()
    assert len(turns) == 2 and any(s["municipality"] == "delft" for s in kept)
    # the Markdown to take away: the question, what was searched, each source's link
    text = Path(download).read_text(encoding="utf-8")
    assert text.startswith("## En in Delft?") and "Ik zocht naar" in text
    assert "/kb/file/" in text and text.count("[1]") >= 2
    # the conversation keeps its last five turns only
    for _ in range(5):
        turns = handlers.chat("En in Delft?", history, "", "", "", turns)[7]
    assert len(turns) == 5


def test_the_ask_api_takes_earlier_turns_as_a_list_or_json(handlers):
    first = handlers.ask("Which projects use parking sensors?")
    assert first["turn"] and first["resolved_question"] in (None, first["question"])
    for history in ([first["turn"]], json.dumps([first["turn"]])):
        a = handlers.ask("En in Delft?", "", "", 5, "", history)
        assert a["resolved_question"] and "Delft" in a["resolved_question"]
    # an old client sends no history, a broken one garbage: a question on its own
    assert handlers.ask("En in Delft?", history="not json")["resolved_question"] in (
        None, "En in Delft?")


def test_composed_answers_keep_their_structure_and_nothing_of_the_documents():
    from ui.render import answer_markdown

    text = ("Lead [1].\n\nWat de handreiking adviseert (bouwsteen X):\n"
            "- **Start.** Do <img src=x onerror=alert(1)> [a](javascript:alert(1)) [1]\n"
            "- **P** (Delft): *x* `code` [2]\n\n[1]: javascript:alert(1)")
    md = answer_markdown({"answer": text, "answered": True})
    assert "- **Start.** Do &lt;img" in md and "- **P** \\(Delft\\)" in md
    assert "\\[a\\]\\(javascript" in md and "\\[1\\]: javascript" in md
    assert "\\*x\\*" in md and "\\`code\\`" in md and md.count("[1]") == 2


def test_a_guide_section_shows_as_text_without_markdown_markers(fake_kb, tmp_path):
    """The guide writes "**Appoint owners.**": the sources panel and the viewer show the
    words, not the asterisks (escaped, they would show literally), the passage in bold."""
    from ui.app import Handlers

    guide = tmp_path / "guide"
    guide.mkdir()
    (guide / "05-foundations.md").write_text(
        "# 5. Foundations\n\n## Data management {#data-management}\n\nStage: foundations\n\n"
        "### Action perspectives\n1. **Appoint data owners.** Name an owner for every key "
        "register and publish a data catalogue.\n2. **Start small.** Begin with the datasets "
        "used most often.\n", encoding="utf-8")  # fmt: skip
    fake_kb.ingest([guide])
    h = Handlers(fake_kb)
    _, _, sources, _, _, kept, *_ = h.chat("data owners and a data catalogue", [], "", "")
    assert kept and "**" not in kept[0]["snippet"] and "\\*" not in sources
    assert kept[0]["snippet"].startswith("1. Appoint data owners. Name an owner")
    _, text = h.open_source(str(kept[0]["n"]), kept, "en")
    assert "\\*" not in text and "**1. Appoint data owners. Name an owner" in text


def test_comparable_projects_speak_the_app_language(handlers):
    """Stage, status and 'why it matches' in Dutch in the Dutch app, English in English
    (the kb's own `why` stays English for the API and the CLI)."""
    for lang, words, other in (("nl", ("gedeelde", "overeenkomende", "vergelijkbare"),
                                ("shared", "matching", "similar")),
                               ("en", ("shared", "matching", "similar"),
                                ("gedeelde", "overeenkomende", "vergelijkbare"))):  # fmt: skip
        rows, detail, _ = handlers.project_table("parking sensors in the centre", "", "",
                                                 lang=lang)  # fmt: skip
        rows = rows.values.tolist()
        assert rows and all(any(w in r[5] for w in words) for r in rows), rows
        assert not any(w in r[5] for r in rows for w in other)
        assert rows[0][5] in detail
    rows, _, _ = handlers.project_table("", "delft-parking", "", lang="nl")
    assert set(rows["status"]) == {"pilot"} and set(rows["fase"]) == {"toepassingen"}
