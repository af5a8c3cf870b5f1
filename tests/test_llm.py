"""The language-model path against a real HTTP server on 127.0.0.1 (tests/fake_openai.py)
that speaks the chat-completions API, streaming included."""

from __future__ import annotations

import socket
import time

import pytest

from kb.followup import Turn
from kb.llm import (
    LlmConfig,
    LlmError,
    Passage,
    Written,
    answer,
    check,
    messages,
    rewrite_followup,
    stream_answer,
    write_answer,
)
from tests.fake_openai import FakeOpenAI

PASSAGES = [
    Passage(
        1,
        "5. Foundations",
        "Data management > Action perspectives",
        "1. **Appoint data owners and stewards.** For each key dataset, name a business owner "
        "responsible for its use and quality and a steward who handles daily maintenance. "
        "Record these roles in a data catalogue.\n2. **Start a data catalogue.** Describe the "
        "most important datasets in one place. Begin with the thirty or forty datasets used "
        "most often.",
    ),
    Passage(
        2,
        "Delft data ethics board",
        "Delft data ethics board",
        "Delft asks an independent committee of five members to assess new data applications "
        "that raise ethical questions. The committee meets every quarter.",
    ),
]
GOOD = (
    "Wijs voor elke belangrijke dataset een eigenaar en een beheerder aan [1]. Begin met een "
    "datacatalogus van de dertig of veertig meest gebruikte datasets. [1]\n"
    "- Delft laat een onafhankelijke commissie nieuwe datatoepassingen beoordelen [2]."
)
GOOD_KEPT = (
    "Wijs voor elke belangrijke dataset een eigenaar en een beheerder aan [1]. Begin met een "
    "datacatalogus van de dertig of veertig meest gebruikte datasets [1].\n"
    "- Delft laat een onafhankelijke commissie nieuwe datatoepassingen beoordelen [2]."
)
CLAIM = "De gemeente heeft in 2019 vijf miljoen euro besteed aan quantumcomputers [1]."
REPLIES = {
    "good": GOOD,
    "unsupported": GOOD.split("\n")[0] + " " + CLAIM,
    "bad-citation": "Delft laat een commissie nieuwe datatoepassingen beoordelen [2]. "
    "Elke dataset krijgt een eigenaar [9].",
    "only-claims": CLAIM + " Dit is belangrijk voor iedereen.",
    "uncited": "Wijs data-eigenaren aan. Begin met een datacatalogus [1].",
    "empty": "",
    "rewrite": "Hoe meten we de voortgang van datamanagement in Delft?\n",
}
Q = "Wat moeten we vooraf regelen voor datamanagement?"


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(REPLIES, delay=3.0) as fake:
        yield fake


def cfg(server, model, timeout=5.0):
    return LlmConfig(server.url, model, "secret-test-key", timeout)


# ---- the check on its own -----------------------------------------------------------------
def test_check_drops_each_kind_of_unsupported_sentence():
    text = GOOD + "\n" + CLAIM + " Zie ook de bijlage [9]. Dit is belangrijk voor iedereen."
    c = check(text, PASSAGES)
    assert c.text == GOOD_KEPT
    assert [(s.kept, s.reason) for s in c.sentences] == [
        (True, ""),
        (True, ""),
        (True, ""),
        (False, "not supported by [1]"),
        (False, "cites [9], which is not one of the passages"),
        (False, "cites no passage"),
    ]


def test_check_keeps_a_short_label_and_a_sentence_citing_two_passages():
    c = check(
        "Advies:\n- Start a data catalogue with the datasets used most often [1, 2].", PASSAGES
    )
    assert c.text == "Advies:\n- Start a data catalogue with the datasets used most often [1, 2]."
    assert c.sentences[1].cites == (1, 2)


def test_prompt_numbers_the_passages_and_names_the_language():
    msgs = messages(Q, "nl", PASSAGES)
    assert "Write the answer in Dutch" in msgs[0]["content"]
    assert (
        "[1] 5. Foundations (Data management > Action perspectives)\n1. **Appoint"
        in msgs[1]["content"]
    )
    assert "[2] Delft data ethics board" in msgs[1]["content"]
    assert msgs[1]["content"].endswith(f"Question: {Q}")
    assert "Write the answer in English" in messages("What?", "en", PASSAGES)[0]["content"]


# ---- against the server -------------------------------------------------------------------
def test_good_answer(server):
    c = answer(cfg(server, "good"), Q, "nl", PASSAGES)
    assert c.text == GOOD_KEPT and c.dropped == []
    req = server.requests[-1]
    assert req["model"] == "good" and not req.get("stream")
    assert "Write the answer in Dutch" in req["messages"][0]["content"]


def test_unsupported_claim_is_dropped(server):
    c = answer(cfg(server, "unsupported"), Q, "nl", PASSAGES)
    assert c.text == GOOD_KEPT.split("\n")[0]
    assert [(s.text, s.reason) for s in c.dropped] == [(CLAIM, "not supported by [1]")]


def test_citation_to_a_missing_passage_is_dropped(server):
    c = answer(cfg(server, "bad-citation"), Q, "nl", PASSAGES)
    assert c.text == "Delft laat een commissie nieuwe datatoepassingen beoordelen [2]."
    assert [s.reason for s in c.dropped] == ["cites [9], which is not one of the passages"]


def test_uncited_sentence_is_dropped(server):
    c = answer(cfg(server, "uncited"), Q, "nl", PASSAGES)
    assert c.text == "Begin met een datacatalogus [1]."
    assert [s.reason for s in c.dropped] == ["cites no passage"]


def test_nothing_supported_is_a_failure_that_keeps_the_details(server):
    with pytest.raises(LlmError) as e:
        answer(cfg(server, "only-claims"), Q, "nl", PASSAGES)
    assert e.value.kind == "unsupported"
    assert (
        str(e.value) == "no sentence of the language model's answer was supported by the passages"
    )
    assert [s.reason for s in e.value.checked.sentences] == [
        "not supported by [1]",
        "cites no passage",
    ]


def test_empty_answer_is_malformed(server):
    with pytest.raises(LlmError) as e:
        answer(cfg(server, "empty"), Q, "nl", PASSAGES)
    assert (e.value.kind, e.value.reason) == (
        "malformed",
        "the language model returned an empty answer",
    )


def test_timeout(server):
    start = time.monotonic()
    with pytest.raises(LlmError) as e:
        answer(cfg(server, "slow", timeout=0.5), Q, "nl", PASSAGES)
    assert time.monotonic() - start < 2.5  # no retries
    assert (e.value.kind, e.value.reason) == (
        "timeout",
        "the language model did not answer within 0.5 s",
    )


def test_http_500(server):
    with pytest.raises(LlmError) as e:
        answer(cfg(server, "error500"), Q, "nl", PASSAGES)
    assert (e.value.kind, e.value.reason) == (
        "http",
        "the language model endpoint returned HTTP 500",
    )


def test_malformed_json(server):
    with pytest.raises(LlmError) as e:
        answer(cfg(server, "malformed"), Q, "nl", PASSAGES)
    assert e.value.kind == "malformed"
    assert e.value.reason.startswith("the language model's reply could not be read (")
    assert "\n" not in e.value.reason


def test_unreachable_endpoint_is_one_line():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = LlmConfig(f"http://127.0.0.1:{port}/v1", "good", "", 2.0)
    with pytest.raises(LlmError) as e:
        answer(config, Q, "nl", PASSAGES)
    assert (e.value.kind, e.value.reason) == (
        "connection",
        f"the language model at http://127.0.0.1:{port}/v1 cannot be reached",
    )


def test_no_url_configured_never_connects(monkeypatch):
    assert LlmConfig.from_values("", "llama3.2", "", "30") is None
    assert LlmConfig.from_values(" http://h:1/v1 ", "", "", "") == LlmConfig(
        "http://h:1/v1", "llama3.2", "", 30.0
    )

    def no_connect(self, address):
        raise AssertionError(f"connection attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    for call in (
        lambda: answer(None, Q, "nl", PASSAGES),
        lambda: list(stream_answer(None, Q, "nl", PASSAGES)),
        lambda: rewrite_followup(None, "En in Delft?", [Turn(Q)]),
    ):
        with pytest.raises(LlmError) as e:
            call()
        assert e.value.kind == "not-configured"


# ---- streaming ----------------------------------------------------------------------------
def test_stream_good_answer_arrives_in_pieces(server):
    s = stream_answer(cfg(server, "good"), Q, "nl", PASSAGES)
    deltas = list(s)
    assert len(deltas) == 3  # one per checked sentence
    assert "".join(deltas).strip() == GOOD_KEPT
    assert s.result is not None and s.result.text == GOOD_KEPT
    assert server.requests[-1]["stream"] is True


def test_stream_never_shows_an_unsupported_sentence(server):
    s = stream_answer(cfg(server, "unsupported"), Q, "nl", PASSAGES)
    shown = "".join(s)
    assert "quantumcomputers" not in shown
    assert shown.strip() == GOOD_KEPT.split("\n")[0]
    assert [d.reason for d in s.result.dropped] == ["not supported by [1]"]


def test_stream_bad_citation(server):
    s = stream_answer(cfg(server, "bad-citation"), Q, "nl", PASSAGES)
    assert "".join(s).strip() == "Delft laat een commissie nieuwe datatoepassingen beoordelen [2]."
    assert [d.reason for d in s.result.dropped] == ["cites [9], which is not one of the passages"]


@pytest.mark.parametrize(
    ("model", "kind", "reason"),
    [
        ("slow", "timeout", "the language model did not answer within 0.5 s"),
        ("error500", "http", "the language model endpoint returned HTTP 500"),
        ("malformed-stream", "malformed", None),
        ("only-claims", "unsupported", None),
    ],
)
def test_stream_failures(server, model, kind, reason):
    s = stream_answer(cfg(server, model, timeout=0.5), Q, "nl", PASSAGES)
    with pytest.raises(LlmError) as e:
        for _ in s:
            pass
    assert e.value.kind == kind
    if reason:
        assert e.value.reason == reason
    assert s.result is None


# ---- follow-up rewriting ------------------------------------------------------------------
def test_rewrite_followup(server):
    history = [Turn("Wat moeten we regelen voor datamanagement in Delft?")]
    assert (
        rewrite_followup(cfg(server, "rewrite"), "Hoe meten ze dat?", history)
        == "Hoe meten we de voortgang van datamanagement in Delft?"
    )
    sent = server.requests[-1]["messages"][1]["content"]
    assert "- Wat moeten we regelen voor datamanagement in Delft?" in sent
    assert sent.endswith("Follow-up: Hoe meten ze dat?")
    with pytest.raises(LlmError) as e:
        rewrite_followup(cfg(server, "error500"), "Hoe meten ze dat?", history)
    assert e.value.kind == "http"


# ---- what the caller shows ----------------------------------------------------------------
def test_write_answer_falls_back_with_one_line(server, monkeypatch):
    fallback = "In de bronnen vond ik hierover ... [1]."
    w = write_answer(cfg(server, "unsupported"), Q, "nl", PASSAGES, fallback)
    assert (w.text, w.written_by) == (GOOD_KEPT.split("\n")[0], "llm")
    assert w.note == "1 zin(nen) van het taalmodel weggelaten: niet door de bronnen gesteund."
    w = write_answer(cfg(server, "error500"), Q, "nl", PASSAGES, fallback)
    assert (w.text, w.written_by) == (fallback, "composed")
    assert w.note == "Antwoord zonder taalmodel: het taalmodel gaf HTTP-status 500."
    w = write_answer(cfg(server, "slow", timeout=0.5), "What?", "en", PASSAGES, fallback)
    assert (
        w.note
        == "Answered without the language model: the language model did not answer within 0.5 s."
    )
    w = write_answer(cfg(server, "good"), Q, "nl", PASSAGES, fallback)
    assert (w.text, w.written_by, w.note) == (GOOD_KEPT, "llm", None)

    def no_connect(self, address):
        raise AssertionError("connection attempted")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    assert write_answer(None, Q, "nl", PASSAGES, fallback) == Written(fallback, "composed")


def test_stream_split_anywhere_gives_the_same_checked_text(monkeypatch):
    """A citation may arrive after the full stop, in pieces: a sentence waits for it."""
    from kb.llm import AnswerStream

    text = (
        REPLIES["unsupported"]
        + "\n- Delft laat een onafhankelijke commissie nieuwe datatoepassingen beoordelen. [2]"
    )
    monkeypatch.setattr(AnswerStream, "_deltas", lambda self: iter(text))  # one character each
    s = stream_answer(LlmConfig("http://127.0.0.1:9/v1", "x"), Q, "nl", PASSAGES)
    shown = "".join(s)
    assert shown.strip() == s.result.text == check(text, PASSAGES).text
    assert "quantumcomputers" not in shown and shown.count("[2]") == 1
