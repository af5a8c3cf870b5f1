"""Words to stemmed terms, for Dutch and English alike (PyStemmer's Snowball stemmers)."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be by can do does for from has have how i in is it its of on or our
    that the their this to was we what when where which who why will with you your
    de het een en van in is op te dat die voor met zijn aan er als bij ook om maar dan naar
    nog wat wie waar hoe welke kan worden wordt door over tot uit of niet deze dit ze we wij
    onze hun haar heeft hebben zich je u mijn""".split()
)


@lru_cache(maxsize=2)
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer("dutch" if lang == "nl" else "english")


def tokens(text: str, lang: str | None = None) -> list[str]:
    """Stemmed content words; with no language given, the Dutch and the English stem of each
    word (one term when they agree), so a mixed corpus matches in both languages."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    if lang in ("nl", "en"):
        return _stemmer(lang).stemWords(words)
    nl, en = _stemmer("nl").stemWords(words), _stemmer("en").stemWords(words)
    out: list[str] = []
    for a, b in zip(nl, en, strict=True):
        out.append(a)
        if b != a:
            out.append(b)
    return out
