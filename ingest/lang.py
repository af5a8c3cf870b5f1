"""Dutch or English? The two languages of the region's documents."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages(["nl", "en"])
    return ident


def detect_language(text: str) -> str | None:
    """'nl' or 'en' for text with enough letters, else None."""
    sample = text[:5000]
    if sum(c.isalpha() for c in sample) < 20:
        return None
    lang, _ = _identifier().classify(sample)
    return str(lang)
