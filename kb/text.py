"""Small text helpers for the core: slugs, sentences, stemmed terms."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9À-Ý])|\n{2,}|\n(?=[-•*] |\d+\. )")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be by can do does for from has have how i in is it its of on or our
    that the their this to was we what when where which who why will with you your
    de het een en van in is op te dat die voor met zijn aan er als bij ook om maar dan naar
    nog wat wie waar hoe welke kan worden wordt door over tot uit of niet deze dit ze we wij
    onze hun haar heeft hebben zich je u mijn""".split()
)


def slugify(name: str) -> str:
    """'Capelle aan den IJssel' -> 'capelle-aan-den-ijssel'."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def sentences(text: str) -> list[str]:
    parts = _SENTENCE_END.split(text)
    return [" ".join(p.split()) for p in parts if p and len(p.split()) >= 4]


@lru_cache(maxsize=2)
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer("dutch" if lang == "nl" else "english")


def terms(text: str, lang: str | None = None) -> set[str]:
    """Stemmed content words (both Dutch and English stems when the language is unknown)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    langs = [lang] if lang in ("nl", "en") else ["nl", "en"]
    out: set[str] = set()
    for lg in langs:
        out.update(_stemmer(lg).stemWords(words))
    return out
