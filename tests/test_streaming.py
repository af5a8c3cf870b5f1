"""A language model's answer as it is written: `KnowledgeBase.ask_stream` and the chat
handler, against the real HTTP server of tests/fake_openai.py (streamed word by word)."""

from __future__ import annotations

import pytest

from kb.llm import LlmConfig
from tests.fake_openai import CLAIM, FakeOpenAI, quoting
from tests.test_kb import corpus  # noqa: F401  (fixture)

QUESTION = "parking sensors"


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI({"quote": quoting}, delay=3.0) as fake:
        yield fake


@pytest.fixture
def kb(fake_kb, corpus):  # noqa: F811
    fake_kb.ingest([corpus])
    return fake_kb


def use_model(kb, server, model: str, timeout: float = 5.0) -> None:
    kb.llm = LlmConfig(server.url, model, "secret-test-key", timeout)


def test_the_answer_grows_a_checked_sentence_at_a_time(kb, server):
    composed = kb.ask(QUESTION)
    use_model(kb, server, "quote")
    answers = list(kb.ask_stream(QUESTION))
    first, last = answers[0], answers[-1]
    # The sources come before the text, and stay the same while it is written.
    assert first.answer == "" and first.written_by == "llm" and first.sources
    assert all(a.sources == first.sources for a in answers)
    texts = [a.answer for a in answers]
    assert all(texts[i + 1].startswith(texts[i]) for i in range(len(texts) - 1))
    assert len(set(texts)) == 3  # nothing, the first sentence, both sentences
    assert last.written_by == "llm" and last.answer != composed.answer
    assert "[1]" in last.answer and "[2]" in last.answer
    assert "Quantum" not in "".join(texts)  # the unsupported sentence is never shown
    assert last.note and "1 sentence" in last.note
    # Streamed or not, the model's finished answer is the same.
    assert kb.ask(QUESTION).answer == last.answer
    assert server.requests[-2]["stream"] is True and "stream" not in server.requests[-1]


def test_a_model_failing_midway_leaves_the_composed_answer_and_the_reason(kb, server):
    composed = kb.ask(QUESTION)
    use_model(kb, server, "error500")
    answers = list(kb.ask_stream(QUESTION))
    assert answers[0].answer == "" and answers[0].written_by == "llm"
    last = answers[-1]
    assert (last.answer, last.written_by) == (composed.answer, "composed")
    assert last.sources == composed.sources
    assert last.note == ("Answered without the language model: the language model endpoint "
                         "returned HTTP 500.")


def test_no_model_no_answer_found_means_one_composed_answer(kb, server):
    before = len(server.requests)
    assert [a.written_by for a in kb.ask_stream(QUESTION)] == ["composed"]
    use_model(kb, server, "quote")
    nothing = list(kb.ask_stream("zzqx vlorp"))
    assert len(nothing) == 1 and not nothing[0].answered
    assert len(server.requests) == before  # an unanswered question is not sent to the model


def test_the_chat_shows_sources_first_then_the_growing_answer(kb, server):
    from ui.app import Handlers

    use_model(kb, server, "quote")
    h = Handlers(kb)
    parts = list(h.chat_stream(QUESTION, [], "", "", "", [], "nl"))
    first, last = parts[0], parts[-1]
    history, cleared, sources, *_ = first
    assert history[-1]["content"] == "*Het taalmodel schrijft het antwoord …*"
    assert cleared == "" and sources.startswith("**[1] ")
    # While the answer is written only the chat changes; the turn and download come last.
    for middle in parts[1:-1]:
        assert all(type(o).__name__ == "dict" and o.get("__type__") == "update"
                   for o in middle[1:])  # fmt: skip
    history, cleared, sources, _, _, kept, _, turns, download = last
    reply = history[-1]["content"]
    assert "[1]" in reply and "Quantum" not in reply and "schrijft" not in reply
    # The note in the answer's language (an English question), Markdown-escaped.
    assert reply.endswith("*1 sentence\\(s\\) of the language model's answer left out: not "
                          "supported by the sources.*")  # fmt: skip
    assert turns and turns[-1]["question"] == QUESTION
    assert download.endswith(".md")
    # The non-streaming handler gives the finished state.
    assert h.chat(QUESTION, [], "", "", "", [], "nl")[0] == history
    assert CLAIM not in reply


def test_kb_ask_and_kb_chat_print_the_model_answer(kb_home, tmp_path, server, monkeypatch):
    """The terminal commands with KB_LLM_URL set: the model's checked answer, its note and
    the sources; a failing model gives the composed answer and one line why."""
    from click.testing import CliRunner

    from tests.test_cli import _files
    from ui.cli import cli

    good, _, proj = _files(tmp_path)
    runner = CliRunner()
    runner.invoke(cli, ["ingest", str(good), str(proj)], catch_exceptions=False)
    monkeypatch.setenv("KB_LLM_URL", server.url)
    monkeypatch.setenv("KB_LLM_MODEL", "quote")
    out = runner.invoke(cli, ["ask", "Waar helpt het digitaal loket bij vergunningen?"],
                        catch_exceptions=False).output  # fmt: skip
    answer, _, rest = out.partition("\nSources:")
    assert "[1]" in answer and "Quantum" not in answer
    assert "1 zin(nen) van het taalmodel weggelaten" in answer and "[1] " in rest
    monkeypatch.setenv("KB_LLM_MODEL", "error500")
    out = runner.invoke(cli, ["chat"], input="Waar helpt het digitaal loket bij vergunningen?\n",
                        catch_exceptions=False).output  # fmt: skip
    assert "Antwoord zonder taalmodel: het taalmodel gaf HTTP-status 500." in out
    assert "[1]" in out and "\nSources:" in out
