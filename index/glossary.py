"""A Dutch-English glossary for cross-lingual queries: BM25 expansion and a word-for-word
English rendering of a Dutch query for the (English-trained) embedding model.

The glossary (`glossary_nl_en.tsv` beside this file) holds the domain's vocabulary; words it
does not know (names, rare words) are left as they are, so a corpus on another subject
simply gets no expansion. Loaded once per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.lexical import STOPWORDS, _stemmer, tokens

GLOSSARY_FILE = Path(__file__).with_name("glossary_nl_en.tsv")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)
# Longest phrase (in content words) looked up as one entry.
MAX_PHRASE = 3
# Dutch compounds are split into two known parts, each at least this long.
MIN_PART = 3
# A compound of which only the head is known: at least this long a head and tail.
MIN_HEAD = 4
MIN_TAIL = 4


def phrase_key(phrase: str, lang: str) -> tuple[str, ...]:
    """A phrase's lookup key: its content words, stemmed in its language."""
    words = [w for w in re.findall(r"[^\W_]+", phrase.lower()) if w not in STOPWORDS]
    return tuple(_stemmer(lang).stemWords(words))


@dataclass(frozen=True)
class Glossary:
    nl_en: dict[tuple[str, ...], tuple[str, ...]]  # Dutch key -> English phrases
    en_nl: dict[tuple[str, ...], tuple[str, ...]]  # English key -> Dutch phrases

    @classmethod
    def parse(cls, text: str) -> Glossary:
        nl_en: dict[tuple[str, ...], list[str]] = {}
        en_nl: dict[tuple[str, ...], list[str]] = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#") or "\t" not in line:
                continue
            nl, en = (p.strip() for p in line.split("\t", 1))
            kn, ke = phrase_key(nl, "nl"), phrase_key(en, "en")
            if kn and en not in nl_en.setdefault(kn, []):
                nl_en[kn].append(en)
            if ke and nl not in en_nl.setdefault(ke, []):
                en_nl[ke].append(nl)
        return cls({k: tuple(v) for k, v in nl_en.items()}, {k: tuple(v) for k, v in en_nl.items()})

    def _table(self, source: str) -> dict[tuple[str, ...], tuple[str, ...]]:
        return self.nl_en if source == "nl" else self.en_nl

    def segments(self, text: str, source: str) -> list[tuple[str, tuple[str, ...]]]:
        """The text's words in order, each (or each phrase) with its translations from
        `source` ('nl' or 'en') into the other language; () for a word not in the glossary."""
        table = self._table(source)
        stem = _stemmer(source)
        words = _WORD.findall(text)
        out: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(words):
            found = None
            # the longest phrase starting here whose content words match an entry
            for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
                span = words[i : i + n]
                content = [w.lower() for w in span if w.lower() not in STOPWORDS]
                if not content or {span[0].lower(), span[-1].lower()} & STOPWORDS:
                    continue
                key = tuple(stem.stemWords([re.sub(r"['’-]", "", w) for w in content]))
                alt = tuple(stem.stemWords(content))
                hit = table.get(key) or table.get(alt)
                if hit:
                    found = (" ".join(span), hit, n)
                    break
            if found is None:
                word = words[i]
                parts = self._compound(word) if source == "nl" else None
                out.append((word, parts or ()))
                i += 1
            else:
                out.append((found[0], found[1]))
                i += found[2]
        return out

    def _compound(self, word: str) -> tuple[str, ...] | None:
        """A Dutch compound of two glossary words ('parkeerdata' -> 'parking data'), else
        the translation of its head when only that is known."""
        w = word.lower()
        if len(w) < 2 * MIN_PART + 1 or w in STOPWORDS:
            return None
        stem = _stemmer("nl")
        for cut in range(len(w) - MIN_PART - 1, MIN_PART - 1, -1):
            head, tail = w[:cut], w[cut:]
            tail_hit = self.nl_en.get(tuple(stem.stemWords([tail])))
            if not tail_hit:
                continue
            for h in (head, head[:-1] if head.endswith(("s", "e")) else None,
                      head[:-2] if head.endswith("en") else None, _verb(head)):  # fmt: skip
                if h and len(h) >= MIN_PART:
                    head_hit = self.nl_en.get(tuple(stem.stemWords([h]))) or self.nl_en.get((h,))
                    if head_hit:
                        return (f"{head_hit[0]} {tail_hit[0]}",)
        # Else a compound whose head alone is known ('inkoopmogelijkheden' -> 'procurement'):
        # the head names the topic; the rest is often a general word ('-mogelijkheden').
        for cut in range(len(w) - MIN_TAIL, MIN_HEAD, -1):
            head = w[:cut]
            for h in (head, head[:-1] if head.endswith(("s", "e")) else None,
                      head[:-2] if head.endswith("en") else None, _verb(head)):  # fmt: skip
                if h and len(h) >= MIN_HEAD:
                    head_hit = self.nl_en.get(tuple(stem.stemWords([h]))) or self.nl_en.get((h,))
                    if head_hit:
                        return (head_hit[0],)
        return None

    def expansion(self, text: str, lang: str | None) -> list[str]:
        """Stemmed BM25 terms of the translations of the text's words that the text itself
        does not hold: Dutch to English for a Dutch text, English to Dutch for an English
        one, both ways when the language is unknown."""
        own = set(tokens(text))
        extra: list[str] = []
        for source in (("nl", "en") if lang is None else (lang,)):
            if source not in ("nl", "en"):
                continue
            for _, translations in self.segments(text, source):
                for t in translations:
                    for term in tokens(t):
                        if term not in own and term not in extra:
                            extra.append(term)
        return extra

    def to_english(self, text: str) -> str | None:
        """A word-for-word English rendering of a Dutch text (the first translation of each
        word or phrase the glossary knows; other words as they are); None when the glossary
        knows none of its content words."""
        parts, known = [], 0
        for word, translations in self.segments(text, "nl"):
            if translations:
                known += 1
                parts.append(translations[0])
            elif word.lower() not in STOPWORDS:
                parts.append(word)
        if not known:
            return None
        end = text.rstrip()[-1:] if text.rstrip()[-1:] in "?.!" else ""
        return " ".join(parts) + end


def _verb(head: str) -> str | None:
    """The infinitive a compound's first part may come from: 'parkeer' -> 'parkeren'."""
    m = re.fullmatch(r"(.*)([aeou])\2([^aeiou])", head)
    return f"{m[1]}{m[2]}{m[3]}en" if m else None


def load_glossary(path: Path) -> Glossary:
    """The glossary in a tab-separated file (Dutch, English a line).

    A missing file is an error, never an empty glossary: an install without its data files
    would otherwise lose cross-lingual search without a word.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the Dutch-English glossary {path} is missing: the package was installed "
            "without its data files (index/*.tsv, declared in pyproject.toml)"
        ) from None
    return Glossary.parse(text)


@lru_cache(maxsize=1)
def glossary() -> Glossary:
    """The shipped glossary (`GLOSSARY_FILE`), loaded once per process."""
    return load_glossary(GLOSSARY_FILE)
