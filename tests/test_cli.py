"""The `kb` command through its real entry point: exit codes, lines and JSON shapes."""

import json

from click.testing import CliRunner

from tests.conftest import make_pdf
from tests.test_kb import PROJECT
from ui.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _files(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", [
        "Gemeente Schiedam opent een digitaal loket voor inwoners en ondernemers.",
        "Het loket helpt bij vergunningen, afval en parkeren.",
    ])  # fmt: skip
    bad = tmp_path / "bad.pdf"
    bad.write_text("plain text")
    proj = tmp_path / "projects"
    proj.mkdir()
    (proj / "rotterdam-parking.yaml").write_text(PROJECT.format(
        id="rotterdam-parking", title="Parking sensors", municipality="rotterdam"))  # fmt: skip
    (proj / "delft-parking.yaml").write_text(PROJECT.format(
        id="delft-parking", title="Parking guidance", municipality="delft"))  # fmt: skip
    return good, bad, proj


def test_ingest_exit_codes_and_lines(kb_home, tmp_path):
    good, bad, proj = _files(tmp_path)
    r = run("ingest", str(good), str(bad), str(proj), "--municipality", "Schiedam")
    assert r.exit_code == 1
    assert f"added: {good}" in r.output
    assert f"failed: {bad}: not a PDF" in r.output
    assert "3 added, 1 failed" in r.output
    r = run("ingest", str(good), str(proj))
    assert r.exit_code == 0
    assert r.output.count("unchanged: ") == 3 and "3 unchanged;" in r.output


def test_ingest_json(kb_home, tmp_path):
    good, bad, _ = _files(tmp_path)
    r = run("ingest", str(good), str(bad), "--json")
    data = json.loads(r.output)
    assert data["counts"] == {"added": 1, "failed": 1}
    assert {x["status"] for x in data["results"]} == {"added", "failed"}


def test_stats_json_has_the_contract_keys(kb_home, tmp_path):
    good, _, proj = _files(tmp_path)
    run("ingest", str(good), str(proj))
    data = json.loads(run("stats", "--json").output)
    assert {"documents", "chunks", "projects", "model", "index"} <= set(data)
    got = (data["documents"], data["projects"], data["model"], data["index"])
    assert got == (3, 2, "hash-256", "flat")


def test_ask_json_shape_and_citation(kb_home, tmp_path):
    good, _, proj = _files(tmp_path)
    run("ingest", str(good), str(proj), "--municipality", "schiedam")
    r = run("ask", "Waar helpt het digitaal loket bij vergunningen?", "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert set(data) >= {"answer", "sources", "building_blocks", "projects", "answered"}
    assert data["answered"] is True
    src = data["sources"][0]
    assert {"document_id", "title", "source", "snippet", "score"} <= set(src)
    assert src["source"] == "good.pdf" and src["page"] == 2
    assert "[1]" in data["answer"]


def test_similar_json_and_usage_errors(kb_home, tmp_path):
    _, _, proj = _files(tmp_path)
    run("ingest", str(proj))
    data = json.loads(run("similar", "--project", "delft-parking", "--json").output)
    assert [r["id"] for r in data["results"]] == ["rotterdam-parking"]
    assert {"id", "title", "municipality", "score", "why"} <= set(data["results"][0])
    assert run("similar").exit_code == 2
    assert run("ask").exit_code == 2
    assert run("ingest", "x", "--kind", "poster").exit_code == 2
    missing = run("similar", "--project", "nope")
    assert missing.exit_code == 1 and "no project with id 'nope'" in missing.output


def test_remove_by_prefix(kb_home, tmp_path):
    good, _, _ = _files(tmp_path)
    data = json.loads(run("ingest", str(good), "--json").output)
    doc_id = data["results"][0]["document_id"]
    r = run("remove", doc_id[:10])
    assert r.exit_code == 0 and "removed" in r.output
    assert json.loads(run("stats", "--json").output)["documents"] == 0
    assert run("remove", doc_id[:10]).exit_code == 1


def test_store_of_another_model_is_one_clear_line(kb_home, tmp_path, monkeypatch):
    good, _, _ = _files(tmp_path)
    run("ingest", str(good))
    monkeypatch.setenv("KB_EMBED_MODEL", "hash:64")
    r = run("ask", "loket")
    assert r.exit_code == 1
    assert "kb reindex" in r.output and "Traceback" not in r.output
    assert run("reindex").exit_code == 0
    assert run("ask", "loket").exit_code == 0
