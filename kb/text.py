"""Small text helpers for the core: slugs, sentences, stemmed terms."""

from __future__ import annotations

import re
import unicodedata

from index.lexical import STOPWORDS, tokens

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9À-Ý])|\n{2,}|\n(?=[-•*] |\d+\. )")

def slugify(name: str) -> str:
    """'Capelle aan den IJssel' -> 'capelle-aan-den-ijssel'."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def sentences(text: str) -> list[str]:
    parts = _SENTENCE_END.split(text)
    return [" ".join(p.split()) for p in parts if p and len(p.split()) >= 4]


def terms(text: str, lang: str | None = None) -> set[str]:
    """Stemmed content words, as a set."""
    return set(tokens(text, lang))


def question_words(text: str) -> set[str]:
    """The lower-cased words of a question that are not function words (for highlighting)."""
    return {w.lower() for w in re.findall(r"\w+", text)} - STOPWORDS
