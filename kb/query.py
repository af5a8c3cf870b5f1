"""A question analysed once: its language, terms, English rendering and glossary expansion,
shared by retrieval, the "no answer" check and the answer composer."""

from __future__ import annotations

from dataclasses import dataclass

from index.glossary import Glossary
from ingest.lang import detect_language
from kb.text import terms


@dataclass(frozen=True)
class Query:
    text: str
    language: str | None  # "nl", "en", or None when too short to tell
    terms: frozenset[str]  # stemmed content words, both languages' stems
    english: str | None  # word-for-word English rendering of a Dutch question (glossary)
    expansion: tuple[str, ...]  # stemmed glossary translations BM25 adds to the terms


def analyse(text: str, glossary: Glossary) -> Query:
    """The question's analysis; everything downstream reads this instead of the text."""
    language = detect_language(text)
    return Query(
        text=text,
        language=language,
        terms=frozenset(terms(text)),
        english=glossary.to_english(text) if language == "nl" else None,
        expansion=tuple(glossary.expansion(text, language)),
    )
