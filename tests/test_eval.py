"""`kb eval`: the metric functions on hand-computed cases, matching rules, BEIR loading and
a tiny BEIR set end to end (BM25, so every figure can be worked out by hand)."""

import json
import math

import pytest
from click.testing import CliRunner

import kb.eval as ev
from index.store import ChunkRow
from kb.settings import Settings
from tests.test_kb import GUIDE, PROJECT
from ui.cli import cli

L3, L5 = math.log2(3), math.log2(5)


# ---- metrics ---------------------------------------------------------------------------------
def test_dcg_discounts_by_log2_of_rank_plus_one():
    assert ev.dcg([3, 2, 0, 1]) == pytest.approx(3 + 2 / L3 + 1 / L5)
    assert ev.dcg([]) == 0


def test_recall_counts_relevant_items_in_the_first_k():
    gains = [0, 1, 0, 2]
    assert ev.recall_at_k(gains, 4, 1) == 0
    assert ev.recall_at_k(gains, 4, 2) == 0.25
    assert ev.recall_at_k(gains, 4, 10) == 0.5
    assert ev.recall_at_k(gains, 0, 10) == 0


def test_mrr_is_the_inverse_rank_of_the_first_hit_within_k():
    assert ev.mrr_at_k([0, 0, 1, 1], 10) == pytest.approx(1 / 3)
    assert ev.mrr_at_k([0, 0, 1], 2) == 0
    assert ev.mrr_at_k([2], 10) == 1


def test_graded_ndcg_against_the_ideal_order():
    # Relevant: one of grade 2 and two of grade 1; the ranking finds the 2 at rank 2 and a 1
    # at rank 3, misses the other 1.
    got = ev.ndcg_at_k([0, 2, 1], [1, 2, 1], 10)
    assert got == pytest.approx((2 / L3 + 1 / 2) / (2 + 1 / L3 + 1 / 2))
    assert ev.ndcg_at_k([2, 1, 1], [1, 2, 1], 10) == pytest.approx(1)
    # The cut-off applies to the ideal as well: with k=1 only the best grade counts.
    assert ev.ndcg_at_k([1, 2], [2, 1], 1) == pytest.approx(1 / 2)
    assert ev.ndcg_at_k([0, 0], [], 10) == 0


def test_mean_metrics_averages_per_query():
    a = ev.Ranking("a", (1.0, 0.0), (1.0,))
    b = ev.Ranking("b", (0.0, 0.0, 0.0, 0.0, 0.0, 1.0), (1.0,))
    m = ev.mean_metrics([a, b])
    assert m["n"] == 2
    assert m["recall@1"] == 0.5 and m["recall@5"] == 0.5 and m["recall@10"] == 1
    assert m["mrr@10"] == pytest.approx((1 + 1 / 6) / 2, abs=1e-4)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(7)) / 2, abs=1e-4)


def test_no_answer_precision_and_recall():
    # Five questions, the first three unanswerable; the system refuses 1, 2 and 4.
    s = ev.no_answer_scores([True, True, True, False, False], [False, False, True, False, True])
    assert (s["true_no_answer"], s["false_no_answer"], s["missed_no_answer"]) == (2, 1, 1)
    assert s["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["recall"] == pytest.approx(2 / 3, abs=1e-4)
    never = ev.no_answer_scores([True, False], [True, True])
    assert never["precision"] is None and never["recall"] == 0


# ---- matching expected items -----------------------------------------------------------------
def _chunk(**kw) -> ChunkRow:
    return ChunkRow(id="c", document_id="d", position=0, text="t", embed_text="t", kind="guide",
                    **kw)  # fmt: skip


def test_section_match_is_a_substring_of_the_heading_path_of_that_file():
    c = _chunk(section="5. Foundations > Data management > Action perspectives")
    exp = {"source": "05-foundations.md", "section": "Data management > Action perspectives"}
    assert ev.matches(exp, c, "05-foundations.md")
    assert ev.matches(exp, c, "guide/05-foundations.md")
    assert not ev.matches(exp, c, "x05-foundations.md")  # another file that ends alike
    assert not ev.matches(exp, c, "04-organisation.md")
    assert not ev.matches({**exp, "section": "Pitfalls"}, c, "05-foundations.md")


def test_page_match_needs_the_same_file_and_page():
    exp = {"source": "delft-digital-strategy.pdf", "page": 9}
    assert ev.matches(exp, _chunk(page=9), "delft-digital-strategy.pdf")
    assert not ev.matches(exp, _chunk(page=8), "delft-digital-strategy.pdf")
    assert not ev.matches(exp, _chunk(page=9), "rotterdam.pdf")


def test_project_match_is_by_project_id():
    assert ev.matches({"project": "delft-parking"}, _chunk(project_id="delft-parking"), "p.yaml")
    assert not ev.matches({"project": "delft-parking"}, _chunk(project_id="delft-park"), "p.yaml")
    assert not ev.matches({"project": "delft-parking"}, _chunk(), "delft-parking.yaml")


# ---- corpus questions on a small store --------------------------------------------------------
QUESTIONS = """questions:
  - {id: a, question: "Who owns the key register and the data catalogue?", language: en,
     kind: guide, cross_lingual: false,
     expected: [{source: 05-foundations.md, section: "Data management > Action perspectives"}]}
  - {id: b, question: "Parking sensors on loading bays for enforcement officers", language: en,
     kind: project, cross_lingual: false, expected: [{project: delft-parking}]}
  - {id: c, question: "Welke sensoren meten de waterstand?", language: nl, kind: guide,
     cross_lingual: true, expected: [{source: 05-foundations.md, section: "Pitfalls"}]}
  - {id: d, question: "What is the price of a season ticket for the zoo?", language: en,
     kind: unanswerable, cross_lingual: false, expected: []}
"""


def test_questions_groups_misses_and_unanswerable(fake_kb, tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "05-foundations.md").write_text(GUIDE)
    (tmp_path / "projects").mkdir()
    (tmp_path / "projects" / "delft-parking.yaml").write_text(
        PROJECT.format(id="delft-parking", title="Parking sensors", municipality="delft"))
    fake_kb.ingest([tmp_path / "guide", tmp_path / "projects"])
    (tmp_path / "q.yaml").write_text(QUESTIONS)
    questions = ev.load_questions(tmp_path / "q.yaml")
    assert [q.answerable for q in questions] == [True, True, True, False]

    res = ev.evaluate_questions(fake_kb, questions, mode="bm25")
    groups = res["groups"]
    # c expects a section the guide does not have: it can never be found.
    assert groups["all"]["n"] == 3  # the unanswerable question is not ranked
    assert groups["all"]["recall@10"] == pytest.approx(2 / 3, abs=1e-4)
    assert groups["lang:nl"]["n"] == 1 and groups["lang:nl"]["recall@10"] == 0
    assert groups["cross-lingual"]["recall@10"] == 0
    assert groups["kind:project"]["recall@1"] == 1
    assert [m["id"] for m in res["misses"]] == ["c"]
    # The "no answer" figures are those of ask() in the same mode.
    fake_kb.retriever = fake_kb.retriever.configured(mode="bm25")
    answered = [fake_kb.ask(q.question).answered for q in questions]
    expected = ev.no_answer_scores([not q.answerable for q in questions], answered)
    assert res["no_answer"] == expected


# ---- BEIR ---------------------------------------------------------------------------------------
CORPUS = [
    ("d1", "Tulips", "Tulip bulbs bloom early in spring in the fields near Lisse."),
    ("d2", "Windmills", "Windmills pump water out of the low polders."),
    ("d3", "Bicycles", "Bicycles are how most people commute to work in Utrecht."),
    ("d4", "Cheese", "Gouda cheese is sold at the weekly market in Gouda."),
    ("d5", "Canals", "Amsterdam canals were dug in the seventeenth century."),
]
QUERIES = [
    ("q1", "windmills polders water"),
    ("q2", "gouda cheese market"),
    ("q3", "commute by bicycle in spring"),
    ("q4", "tallest church tower"),  # judged only against a document not in the corpus
]
QRELS = [("q1", "d2", 2), ("q1", "d5", 1), ("q2", "d4", 1), ("q3", "d1", 1), ("q3", "d3", 0),
         ("q4", "d99", 2)]  # fmt: skip


def write_beir(folder, header=True):
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for i, title, text in CORPUS:
            f.write(json.dumps({"_id": i, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for i, text in QUERIES:
            f.write(json.dumps({"_id": i, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] if header else []
    lines += [f"{q}\t{d}\t{s}" for q, d, s in QRELS]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize("header", [True, False])
def test_load_beir_with_or_without_header(tmp_path, header):
    b = ev.load_beir(write_beir(tmp_path / "set", header=header))
    assert len(b.corpus) == 5 and len(b.queries) == 4
    assert b.qrels["q1"] == {"d2": 2, "d5": 1}
    assert "q4" not in b.qrels  # its only judged document is not in the corpus


def test_beir_bm25_end_to_end_through_the_cli(kb_home, tmp_path):
    folder = write_beir(tmp_path / "tiny")
    r = CliRunner().invoke(cli, ["eval", "--beir", str(folder), "--mode", "bm25", "--json"],
                           catch_exceptions=False)  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["documents"] == 5
    m = out["modes"]["bm25"]["groups"]["all"]
    # q1: only d2 shares words -> gains [2] of relevant {2, 1}; q2: d4 first of {1};
    # q3: d3 (two query words) before d1 (one), d1 relevant -> gains [0, 1].
    ndcg = [2 / (2 + 1 / L3), 1.0, 1 / L3]
    assert m["n"] == 3  # q4 has no relevant document in the corpus
    assert m["recall@1"] == pytest.approx((0.5 + 1 + 0) / 3, abs=1e-4)
    assert m["recall@5"] == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-4)
    assert m["mrr@10"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-4)
    assert m["ndcg@10"] == pytest.approx(sum(ndcg) / 3, abs=1e-4)
    assert not kb_home.exists()  # the user's store is never touched


def test_beir_store_is_reused_from_a_work_folder(kb_home, tmp_path):
    folder = write_beir(tmp_path / "tiny")
    work = tmp_path / "work"
    settings = Settings(embed_model="hash")
    first = ev.run_beir(folder, ["bm25"], settings, workdir=work)
    again = ev.run_beir(folder, ["bm25", "hybrid"], settings, workdir=work)
    assert "reused" not in first and again["reused"] == str(work)
    assert again["chunks"] == first["chunks"]
    assert again["modes"]["bm25"]["groups"] == first["modes"]["bm25"]["groups"]


def test_eval_needs_exactly_one_set(kb_home, tmp_path):
    r = CliRunner().invoke(cli, ["eval"])
    assert r.exit_code == 2
    assert "--questions" in r.output


def test_questions_on_an_empty_store_is_a_clear_error(kb_home, tmp_path):
    (tmp_path / "q.yaml").write_text(QUESTIONS)
    r = CliRunner().invoke(cli, ["eval", "--questions", str(tmp_path / "q.yaml")])
    assert r.exit_code == 1
    assert "empty: run `kb ingest corpus` first" in r.output


def test_weighted_fusion_follows_the_heavier_ranking():
    from index.fusion import rrf

    a, b = [1, 2, 3], [3, 2, 1]
    assert [i for i, _ in rrf([a, b], weights=[1.4, 0.6])] == [1, 2, 3]
    assert [i for i, _ in rrf([a, b], weights=[0.6, 1.4])] == [3, 2, 1]
    assert dict(rrf([a, b], weights=[1.4, 0.6]))[1] == pytest.approx(1.4 / 61 + 0.6 / 63)
    assert rrf([a, b]) == rrf([a, b], weights=[1.0, 1.0])  # no weights: plain RRF


def test_hybrid_fusion_follows_the_question_language(fake_kb, monkeypatch):
    from kb.retrieval import FUSION

    seen = []
    monkeypatch.setattr(fake_kb.store, "search",
                        lambda *a, **kw: seen.append((kw["dense_weight"], kw["rrf_k"])) or [])
    # fusion by chunk language: tests/test_crosslingual.py
    retriever = fake_kb.retriever.configured(split_fusion=False)
    retriever.retrieve("Welke gemeenten meten met sensoren de waterstand in de polders?")
    retriever.retrieve("Which municipalities measure water levels in the polders with sensors?")
    retriever.retrieve("B. F. Skinner")  # too short to tell
    assert seen == [FUSION["nl"], FUSION["en"], FUSION[None]]
    assert FUSION["nl"][0] < 0.5 < FUSION["en"][0]  # BM25 leads in Dutch, dense in English


# ---- conversations ------------------------------------------------------------------------------
def test_a_cited_source_matches_an_expected_entry_as_a_chunk_would():
    from kb.answer import Source

    pdf = "strategies/delft-digital-strategy.pdf"
    page = Source(1, "d", "T", pdf, "strategy", 9, None, "", 0.5)
    sec = Source(2, "g", "G", "05-foundations.md", "guide", None,
                 "5. Foundations > Data management > Pitfalls", "", 0.5)  # fmt: skip
    proj = Source(3, "p", "P", "delft.yaml", "project", None, None, "", 0.5, project_id="delft-x")
    match = ev.conversations.source_matches
    assert match({"source": "delft-digital-strategy.pdf", "page": 9}, page)
    assert not match({"source": "delft-digital-strategy.pdf", "page": 8}, page)
    assert ev.conversations.source_matches(
        {"source": "05-foundations.md", "section": "data management > pitfalls"}, sec)
    assert not ev.conversations.source_matches(
        {"source": "05-foundations.md", "section": "Action perspectives"}, sec)
    assert ev.conversations.source_matches({"project": "delft-x"}, proj)
    assert not ev.conversations.source_matches({"project": "delft-y"}, proj)


def test_conversations_score_the_second_turn_alone_and_with_history(fake_kb, tmp_path):
    import yaml

    from tests.test_kb import GUIDE, PROJECT

    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "05-foundations.md").write_text(GUIDE)
    (tmp_path / "projects").mkdir()
    for pid, mun in (("delft-parking", "delft"), ("schiedam-parking", "schiedam")):
        (tmp_path / "projects" / f"{pid}.yaml").write_text(
            PROJECT.format(id=pid, title=f"Parking sensors {mun}", municipality=mun))
    fake_kb.ingest([tmp_path / "guide", tmp_path / "projects"])
    conv = {"conversations": [{
        "id": "c1", "language": "en", "split": "dev", "turns": [
            {"question": "Which projects use parking sensors in loading bays in Delft?",
             "expected": [{"project": "delft-parking"}]},
            {"question": "And in Schiedam?", "resolved": "Parking sensor projects in Schiedam",
             "expected": [{"project": "schiedam-parking"}]}]}]}  # fmt: skip
    path = tmp_path / "conv.yaml"
    path.write_text(yaml.safe_dump(conv))
    report = ev.evaluate_conversations(fake_kb, ev.load_conversations(path))
    row = report["groups"]["all"]
    assert row["n"] == 1 and row["first"] == 1.0
    assert row["history"] == 1.0  # "And in Schiedam?" resolved against the first turn
    assert report["misses"] == []
    assert ev.evaluate_conversations(fake_kb, ev.load_conversations(path), split="test")[
        "groups"]["all"]["n"] == 0
