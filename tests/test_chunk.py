from index.embedder import SentenceTransformerEmbedder
from ingest.chunk import Chunker
from ingest.records import Document, Segment

DUTCH = (
    "De gemeente investeert in datagedreven werken. Medewerkers leren hoe zij gegevens "
    "verantwoord gebruiken, en de informatiehuishouding wordt stap voor stap verbeterd. "
) * 60


def _doc(text: str) -> Document:
    return Document(
        id="d" * 64, key="k", source="s.pdf", title="T", kind="strategy",
        segments=(Segment(text=text, page=3),), municipality="delft", language="nl",
    )  # fmt: skip


def test_no_chunk_exceeds_the_models_window_in_its_own_tokens():
    emb = SentenceTransformerEmbedder()  # only its tokenizer file is read, not the weights
    chunker = Chunker(emb.count_tokens, max_tokens=200)
    chunks = chunker.chunk(_doc(DUTCH))
    assert len(chunks) > 3
    assert max(emb.count_tokens(c.text) for c in chunks) <= 200
    assert emb._model is None  # chunking did not load the model


def test_chunks_overlap_and_prefer_sentence_ends():
    emb = SentenceTransformerEmbedder()
    chunks = Chunker(emb.count_tokens, max_tokens=120, overlap=30).chunk(_doc(DUTCH))
    ends_on_sentence = sum(c.text.rstrip().endswith(".") for c in chunks)
    assert ends_on_sentence >= len(chunks) - 1
    first_tail = chunks[0].text.split(". ")[-2]
    assert first_tail in chunks[1].text  # the last sentence of one chunk opens the next


def test_chunks_keep_metadata_and_page():
    c = Chunker(lambda t: len(t.split()), max_tokens=50).chunk(_doc(DUTCH))[0]
    assert (c.page, c.kind, c.municipality, c.language) == (3, "strategy", "delft", "nl")
    assert c.document_id == "d" * 64 and len(c.id) == 64


def test_a_word_longer_than_the_budget_is_still_cut_to_fit():
    chunker = Chunker(lambda t: len(t), max_tokens=50)
    pieces = chunker.split_text("x" * 500)
    assert pieces and all(len(p) <= 50 for p in pieces)
